using System.Globalization;
using System.Net;
using ExpRunner.Cli.Ui;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;
using Microsoft.Playwright;

namespace ExpRunner.Tests.Ui;

/// <summary>
/// A runs directory as people have one — real runs of the shipped experiments (MNIST with saved
/// weights, a finished xor sweep), 3,000 generated runs to scroll through, and a run whose
/// experiment name and params are HTML — served by `exprunner ui`'s server on a free port, and
/// Debian's Chromium driven through Playwright.
/// </summary>
public sealed class UiFixture : IAsyncLifetime
{
    /// <summary>The tests of the UI share one fixture (its runs, server and browser) and run one after another.</summary>
    [CollectionDefinition("ui")]
    public sealed class Collection : ICollectionFixture<UiFixture>;

    public const string Hostile = "<img src=x onerror=\"window.__pwned=1\">";
    public const string HostileParam = "<script>window.__pwned=2</script>";
    public const int Generated = 3000;

    private readonly TempDir _dir = new();
    public string Runs => _dir.File("runs");
    public string Cache => _dir.File("cache");
    public UiData Data { get; private set; } = null!;
    public UiServer Server { get; private set; } = null!;
    public string MnistRun { get; private set; } = "";
    /// <summary>A run with probes (two layers: tanh, sigmoid).</summary>
    public string ProbedRun { get; private set; } = "";
    public const string ProbedConfig = """
        name: xor-probed
        seed: 3
        dataset: { name: xor, samples: 400, noise: 0.05 }
        model: { layers: [ { units: 6, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 10, epochs: 20, gradient_reduction: mean }
        probes: {}
        """;
    public string SweepId { get; private set; } = "";
    public IReadOnlyList<string> SweepRuns { get; private set; } = [];
    private IPlaywright? _playwright;
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the screenshots of each page go (kept as build artefacts).</summary>
    public static string Shots => Environment.GetEnvironmentVariable("EXPRUNNER_UI_SHOTS") is { Length: > 0 } d ? d : Path.Combine(Repo.Root, "tests", "artifacts", "ui");

    public async ValueTask InitializeAsync()
    {
        string mnist = Repo.Data("mnist");
        var run = InProcess.Run("run", Repo.Experiments("mnist-sgd.yaml"), "--runs", Runs, "--set", $"dataset.path={mnist}", "--set", "training.epochs=2", "-q");
        Assert.True(run.ExitCode == 0, run.ToString());
        MnistRun = Path.GetFileName(Directory.GetDirectories(Path.Combine(Runs, "mnist-sgd")).Single());
        // A sweep with one configuration run twice (mean at 1.0 and sum at 0.05, batches of 20), before the one the sweep pages show.
        var same = InProcess.Run("sweep", _dir.Write("same.yaml", """
            name: xor-same
            seed: 3
            dataset: { name: xor, samples: 200, noise: 0.05 }
            model: { layers: [ { units: 6, activation: tanh }, { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { learning_rate: 0.5, batch_size: 20, epochs: 3 }
            sweep:
              grid: { training.gradient_reduction: [mean, sum], training.learning_rate: [0.05, 1.0] }
            """), "--runs", Runs, "--jobs", "2");
        Assert.True(same.ExitCode == 0, same.ToString());
        var sweep = InProcess.Run("sweep", _dir.Write("xor.yaml", """
            name: xor-ui
            seed: 3
            dataset: { name: xor, samples: 200, noise: 0.05 }
            model: { layers: [ { units: 6, activation: tanh }, { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { learning_rate: 0.5, batch_size: 20, epochs: 12, gradient_reduction: mean }
            sweep:
              grid: { training.learning_rate: [0.05, 0.5, 2.0] }
              repeats: 2
            """), "--runs", Runs, "--jobs", "2");
        Assert.True(sweep.ExitCode == 0, sweep.ToString());
        var probed = InProcess.Run("run", _dir.Write("probed.yaml", ProbedConfig), "--runs", Runs, "-q");
        Assert.True(probed.ExitCode == 0, probed.ToString());
        ProbedRun = Path.GetFileName(Directory.GetDirectories(Path.Combine(Runs, "xor-probed")).Single());
        var store = new ExpRunner.Sweeps.SweepStore(Runs);
        SweepId = store.Latest()!;
        SweepRuns = store.Read(SweepId).Trials.Select(t => t.RunId!).ToList();
        Generate();
        Data = new UiData(Runs, Cache, TimeProvider.System);
        Server = await UiServer.StartAsync(Data, IPAddress.Loopback, 0, TestContext.Current.CancellationToken);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium(), Headless = true, Args = ["--no-sandbox", "--disable-gpu"] });
    }

    /// <summary>The system's Chromium ($CHROMIUM, else Debian's); make test installs it when it is missing.</summary>
    public static string Chromium()
    {
        foreach (var path in new[] { Environment.GetEnvironmentVariable("CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium" })
            if (!string.IsNullOrEmpty(path) && File.Exists(path)) return path;
        throw new InvalidOperationException("no Chromium: `make test` installs Debian's chromium package; or set CHROMIUM to a Chromium executable");
    }

    /// <summary>Generated finished runs (record and summary, as the trainer leaves them) and one with a hostile name.</summary>
    private void Generate()
    {
        var t0 = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
        string[] reductions = ["mean", "sum"];
        for (int i = 0; i < Generated; i++)
        {
            string id = $"20250601-{i / 3600:00}{i / 60 % 60:00}{i % 60:00}-g{i:00000}";
            var folder = RunFolder.Open(Path.Combine(Runs, "generated", id));
            Directory.CreateDirectory(folder.Dir);
            string lr = (0.01 * (1 + i % 4)).ToString(CultureInfo.InvariantCulture);
            string status = i % 50 == 7 ? RunStatus.Diverged : i % 97 == 5 ? RunStatus.Failed : RunStatus.Finished;
            folder.WriteRecord(new RunRecord { Id = id, Experiment = "generated", Status = status, Started = t0.AddSeconds(i), Seed = i });
            folder.WriteSummary(new RunSummary
            {
                Id = id, Experiment = "generated", Status = status, EpochsRun = 5, DurationSeconds = 1 + i % 7,
                Final = new Dictionary<string, double> { ["test_accuracy"] = 0.5 + (i % 100) / 250.0, ["test_loss"] = 1.0 / (1 + i % 100) },
                Params = new Dictionary<string, string> { ["training.learning_rate"] = lr, ["training.gradient_reduction"] = reductions[i / 4 % 2], ["seed"] = i.ToString(CultureInfo.InvariantCulture) },
            });
        }
        var hostile = RunFolder.Open(Path.Combine(Runs, "hostile", "20250602-000000-hostil"));
        Directory.CreateDirectory(hostile.Dir);
        hostile.WriteRecord(new RunRecord { Id = hostile.Id, Experiment = Hostile, Status = RunStatus.Finished, Started = t0.AddDays(400) });
        hostile.WriteSummary(new RunSummary
        {
            Id = hostile.Id, Experiment = Hostile, Status = RunStatus.Finished, EpochsRun = 1,
            Final = new Dictionary<string, double> { ["test_accuracy"] = 0.5 },
            Params = new Dictionary<string, string> { ["training.learning_rate"] = HostileParam, ["training.gradient_reduction"] = "mean" },
        });
        File.WriteAllText(hostile.PathOf(RunFolder.LogFile), "line one\n<script>window.__pwned=3</script>\n");
        File.WriteAllText(hostile.PathOf(RunFolder.MetricsFile), RunFolder.MetricsHeader + "\n1,test,10,0.7,0.5,0.1,0.01,0\n");
    }

    public string Url(string hash = "") => Server.Address + (hash.Length == 0 ? "" : "#" + hash);

    /// <summary>A page that fails the test on any script error it shows (an uncaught exception, an error logged).</summary>
    public async Task<(IPage Page, List<string> Errors)> Open(string hash, int width = 1400, int height = 900)
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        page.Response += (_, r) => { if (r.Status >= 400 && r.Status != 400) errors.Add($"{r.Status} {r.Url}"); };
        // A 400 is how the server answers a malformed filter (the page shows it): not an error of the page.
        page.Console += (_, m) => { if (m.Type == "error" && !m.Text.Contains("status of 400", StringComparison.Ordinal)) errors.Add(m.Text); };
        await page.GotoAsync(Url(hash));
        return (page, errors);
    }

    public static async Task Shot(IPage page, string name)
    {
        Directory.CreateDirectory(Shots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Shots, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
        _dir.Dispose();
    }
}
