using System.Text.Json.Nodes;
using ExpRunner.Config;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;
using ExpRunner.Tracking.Mlflow;
using Serilog;

namespace ExpRunner.Tests.Tracking;

/// <summary>Contract tests of the MLflow mirror against <see cref="FakeMlflowServer"/> (a test double on loopback).</summary>
public class MlflowTests
{
    /// <summary>The epochs' metrics (train_loss, test_accuracy, …), not the machine's (system/…) or every step's (batch_loss, …).</summary>
    private static bool EpochMetric((string Key, double Value, long Timestamp, long Step) m) => !m.Key.StartsWith("system/", StringComparison.Ordinal) && m.Key is not ("batch_loss" or "batch_accuracy" or "learning_rate");

    private const string Xor = """
        name: xor-ml
        seed: 3
        dataset: { name: xor, samples: 200 }
        model:
          layers:
            - { units: 4, activation: tanh }
            - { units: 1, activation: sigmoid }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 20, epochs: 5 }
        """;

    private static readonly TimeSpan[] FastRetries = [TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(40)];

    private static MlflowClient Client(string url, string? token = null, TimeSpan? timeout = null) =>
        new(new MlflowConnection(new Uri(url), Token: token), timeout: timeout) { RetryDelays = FastRetries };

    /// <summary>Trains the XOR config with an MLflow tracker; returns the run's result and its log text.</summary>
    private static (RunResult Result, string Log) Train(TempDir dir, MlflowClient client, string experiment = "xor-study", string? yaml = null)
    {
        var loaded = ConfigLoader.Parse(yaml ?? Xor, dir.Write("xor.yaml", yaml ?? Xor));
        var result = ExperimentRunner.Run(loaded, new RunOptions
        {
            RunsRoot = dir.File("runs"),
            Trackers = [log => new MlflowTracker(client, experiment, log, new MlflowTrackerOptions { FinishTimeout = TimeSpan.FromSeconds(30) })],
        });
        return (result, File.ReadAllText(result.Folder.PathOf(RunFolder.LogFile)));
    }

    [Fact]
    public void A_run_mirrors_params_metrics_tags_artifacts_and_status()
    {
        using var dir = new TempDir();
        using var server = new FakeMlflowServer();
        var (result, _) = Train(dir, Client(server.Url));
        Assert.Equal(RunStatus.Finished, result.Status);

        var run = Assert.Single(server.State.Runs.Values);
        Assert.Equal("1", server.State.Experiments["xor-study"]);
        Assert.Equal(result.Folder.Id, run.Name);
        Assert.Equal(result.Folder.ReadRecord()!.Started.ToUnixTimeMilliseconds(), run.StartTime);
        Assert.Equal(result.Folder.Id, run.Tags["exprunner.run_id"]);
        Assert.Equal(result.Folder.Id, run.Tags["mlflow.runName"]);
        Assert.Equal("LOCAL", run.Tags["mlflow.source.type"]);
        Assert.True(run.Tags.ContainsKey("mlflow.user"));
        Assert.Equal("0.5", run.Params["training.learning_rate"]);
        Assert.Equal("4", run.Params["model.layers.0.units"]);
        Assert.Equal("FINISHED", run.Status);
        Assert.True(run.EndTime >= run.StartTime);

        // Per-epoch metrics: step = epoch, the epoch's own timestamp, each value once.
        var rows = result.Folder.ReadMetrics();
        Assert.Equal(rows.Count * 2, run.Metrics.Count(EpochMetric));
        // A sample at least at the run's end (memory: CPU use needs the clock to have ticked since the run began, which a short run may not see).
        Assert.Contains(run.Metrics, m => m.Key == "system/system_memory_usage_megabytes");
        foreach (var row in rows)
        {
            var m = Assert.Single(run.Metrics, x => x.Key == $"{row.Split}_loss" && x.Step == row.Epoch);
            Assert.Equal(row.Loss, m.Value);
            Assert.Equal(row.TimestampMs, m.Timestamp);
        }
        // The metrics went up while training, one log-batch per epoch, before the end-of-run sync.
        Assert.True(server.To("runs/log-batch").Count(r => r.Body.Contains("\"step\":1")) >= 1);

        foreach (var file in new[] { "config.yaml", "run.json", "metrics.csv", "summary.json", "model.safetensors", "init.safetensors", "log.txt", "curves.svg" })
            Assert.True(server.State.Artifacts.ContainsKey($"1/{run.Id}/artifacts/{file}"), $"artifact {file} missing");
        Assert.Equal(File.ReadAllBytes(result.Folder.PathOf("model.safetensors")), server.State.Artifacts[$"1/{run.Id}/artifacts/model.safetensors"]);

        var state = MlflowState.Read(result.Folder)!;
        Assert.True(state.Complete);
        Assert.Equal(run.Id, state.RunId);
    }

    [Fact]
    public async Task Log_batch_is_chunked_to_mlflows_limits_and_delivers_everything_once()
    {
        using var server = new FakeMlflowServer();
        using var client = Client(server.Url);
        string exp = await client.GetOrCreateExperimentAsync("e", TestContext.Current.CancellationToken);
        var run = await client.CreateRunAsync(exp, "r", 1, [], "tester", TestContext.Current.CancellationToken);
        var metrics = Enumerable.Range(0, 2500).Select(i => new MlflowMetric("m", i, 1000 + i, i)).ToList();
        var ps = Enumerable.Range(0, 250).Select(i => new KeyValuePair<string, string>($"p{i}", new string('x', i == 7 ? 900 : 3))).ToList();
        var tags = Enumerable.Range(0, 150).Select(i => new KeyValuePair<string, string>($"t{i}", "v")).ToList();
        await client.LogBatchAsync(run.RunId, metrics, ps, tags, TestContext.Current.CancellationToken);

        var batches = server.To("runs/log-batch").Select(r => JsonNode.Parse(r.Body)!).ToList();
        Assert.All(batches, b =>
        {
            int m = b["metrics"]!.AsArray().Count, p = b["params"]!.AsArray().Count, t = b["tags"]!.AsArray().Count;
            Assert.True(m <= 1000 && p <= 100 && t <= 100 && m + p + t <= 1000, $"batch of {m} metrics, {p} params, {t} tags");
        });
        var stored = server.State.Runs[run.RunId];
        Assert.Equal(Enumerable.Range(0, 2500).Select(i => (long)i), stored.Metrics.Select(x => x.Step).Order());
        Assert.Equal(250, stored.Params.Count);
        Assert.Equal(150, stored.Tags.Count);
        Assert.EndsWith(MlflowClient.Truncated, stored.Params["p7"]);
        Assert.Equal(500, stored.Params["p7"].Length);
    }

    [Fact]
    public async Task Credentials_go_in_headers_and_nowhere_else()
    {
        using var server = new FakeMlflowServer();
        using (var bearer = Client(server.Url, token: "s3cret-token")) await bearer.GetOrCreateExperimentAsync("a", TestContext.Current.CancellationToken);
        Assert.All(server.Requests, r => Assert.Equal("Bearer s3cret-token", r.Authorization));

        var env = new Dictionary<string, string> { ["MLFLOW_TRACKING_USERNAME"] = "ann", ["MLFLOW_TRACKING_PASSWORD"] = "pw" };
        var basic = MlflowConnection.Resolve(null, server.Url, k => env.GetValueOrDefault(k))!;
        using (var c = new MlflowClient(basic)) await c.GetOrCreateExperimentAsync("b", TestContext.Current.CancellationToken);
        Assert.Equal("Basic " + Convert.ToBase64String("ann:pw"u8.ToArray()), server.Requests.Last().Authorization);

        var inUri = MlflowConnection.Resolve($"http://bob:hunter2@127.0.0.1:1", null, _ => null)!;
        Assert.Equal("bob", inUri.User);
        Assert.DoesNotContain("hunter2", inUri.Display);
        Assert.Equal("http://127.0.0.1:1", inUri.Display);
    }

    [Fact]
    public void Flags_beat_config_and_config_beats_the_environment()
    {
        Func<string, string?> env = k => k == "MLFLOW_TRACKING_URI" ? "http://env:1" : null;
        Assert.Equal("http://flag:1", MlflowConnection.Resolve("http://flag:1", "http://config:1", env)!.Display);
        Assert.Equal("http://config:1", MlflowConnection.Resolve(null, "http://config:1", env)!.Display);
        Assert.Equal("http://env:1", MlflowConnection.Resolve(null, null, env)!.Display);
        Assert.Null(MlflowConnection.Resolve(null, null, _ => null));
        var bad = Assert.Throws<ExpRunner.Config.ConfigException>(() => MlflowConnection.Resolve("ftp://x", null, _ => null));
        Assert.Equal("--mlflow", Assert.Single(bad.Errors).Location);
    }

    [Fact]
    public async Task An_unreachable_server_warns_once_and_push_later_completes_it_without_duplicates()
    {
        using var dir = new TempDir();
        int port = FakeMlflowServer.FreePort();
        var (result, log) = Train(dir, Client($"http://127.0.0.1:{port}"));
        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(1, log.Split('\n').Count(l => l.Contains("[WRN]") && l.Contains("MLflow")));
        Assert.Contains("mlflow push", log);
        var state = MlflowState.Read(result.Folder)!;
        Assert.False(state.Complete);
        Assert.NotEmpty(state.Missing);
        Assert.True(File.Exists(result.Folder.PathOf("model.safetensors")));

        using var server = new FakeMlflowServer(port: port);
        var sync = new MlflowSync(Client(server.Url), _ => { });
        var first = await sync.PushAsync(result.Folder, "xor-study", TestContext.Current.CancellationToken);
        Assert.True(first.Created);
        var run = Assert.Single(server.State.Runs.Values);
        Assert.Equal(result.Folder.ReadMetrics().Count * 2, run.Metrics.Count(EpochMetric));
        Assert.Equal("FINISHED", run.Status);
        Assert.True(MlflowState.Read(result.Folder)!.Complete);

        var again = await sync.PushAsync(result.Folder, "xor-study", TestContext.Current.CancellationToken);
        Assert.False(again.Created);
        Assert.Equal(0, again.MetricsLogged);
        Assert.Equal(0, again.ParamsLogged);
        Assert.Single(server.State.Runs.Values);
        Assert.Equal(result.Folder.ReadMetrics().Count * 2, run.Metrics.Count(EpochMetric));
    }

    [Fact]
    public async Task A_server_that_dies_mid_run_loses_nothing_locally_and_push_completes_its_copy()
    {
        using var dir = new TempDir();
        var state = new FakeMlflowState();
        int port = FakeMlflowServer.FreePort();
        var server = new FakeMlflowServer(state, port);
        int batches = 0;
        server.Fault = r =>
        {
            // Dies answering the first metrics (the first batch held the params): that request is lost with it.
            if (r.Path.EndsWith("log-batch", StringComparison.Ordinal) && Interlocked.Increment(ref batches) == 2) { server.Dispose(); return 500; }
            return null;
        };
        var (result, log) = Train(dir, Client(server.Url), yaml: Xor.Replace("epochs: 5", "epochs: 30"));
        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal(30, result.Folder.ReadMetrics().Count / 2);
        Assert.Contains("[WRN]", log);
        var partial = state.Runs.Values.Single();
        Assert.True(partial.Metrics.Count(EpochMetric) < 120);

        using var restarted = new FakeMlflowServer(state, port);
        await new MlflowSync(Client(restarted.Url), _ => { }).PushAsync(result.Folder, "xor-study", TestContext.Current.CancellationToken);
        var run = Assert.Single(state.Runs.Values);
        Assert.Equal(120, run.Metrics.Count(EpochMetric));
        Assert.Equal(run.Metrics.Count, run.Metrics.Select(m => (m.Key, m.Step)).Distinct().Count());
        Assert.Equal("FINISHED", run.Status);
    }

    [Fact]
    public async Task Transient_failures_are_retried_and_a_4xx_reports_the_servers_error()
    {
        using var server = new FakeMlflowServer();
        int calls = 0;
        server.Fault = r => Interlocked.Increment(ref calls) <= 2 ? (calls == 1 ? 503 : 429) : null;
        using var client = Client(server.Url);
        Assert.Equal("1", await client.GetOrCreateExperimentAsync("e", TestContext.Current.CancellationToken));

        server.Fault = r => r.Path.EndsWith("runs/create", StringComparison.Ordinal) ? 400 : null;
        var e = await Assert.ThrowsAsync<MlflowException>(() => client.CreateRunAsync("1", "r", 1, [], "tester", TestContext.Current.CancellationToken));
        Assert.Equal("INVALID_PARAMETER_VALUE", e.ErrorCode);
        Assert.Contains("injected fault", e.Message);
        Assert.Single(server.To("runs/create")); // a 4xx is not retried

        server.Fault = _ => 500;
        var down = await Assert.ThrowsAsync<MlflowUnavailableException>(() => client.GetOrCreateExperimentAsync("x", TestContext.Current.CancellationToken));
        Assert.Contains("3 attempts", down.Message);
    }

    [Fact]
    public async Task A_slow_server_times_out_as_unavailable()
    {
        using var server = new FakeMlflowServer { Delay = TimeSpan.FromSeconds(3) };
        using var client = Client(server.Url, timeout: TimeSpan.FromMilliseconds(200));
        var e = await Assert.ThrowsAsync<MlflowUnavailableException>(() => client.GetOrCreateExperimentAsync("e", TestContext.Current.CancellationToken));
        Assert.Contains("timed out", e.Message);
    }

    [Fact]
    public async Task Losing_the_race_to_create_an_experiment_falls_back_to_get_by_name()
    {
        using var server = new FakeMlflowServer();
        bool first = true;
        server.Fault = r =>
        {
            // Someone else creates the experiment between our get-by-name (404) and our create.
            if (r.Path.EndsWith("experiments/get-by-name", StringComparison.Ordinal) && first) { first = false; lock (server.State.Gate) server.State.Experiments["race"] = "9"; return 404; }
            return null;
        };
        using var client = Client(server.Url);
        Assert.Equal("9", await client.GetOrCreateExperimentAsync("race", TestContext.Current.CancellationToken));
    }

    [Fact]
    public void A_server_without_artifact_proxy_is_reported_once_and_the_rest_still_syncs()
    {
        using var dir = new TempDir();
        using var server = new FakeMlflowServer();
        server.State.ProxyArtifacts = false;
        var (result, log) = Train(dir, Client(server.Url));
        Assert.Equal(1, log.Split('\n').Count(l => l.Contains("does not proxy artifacts")));
        var run = Assert.Single(server.State.Runs.Values);
        Assert.Equal("FINISHED", run.Status);
        Assert.Empty(server.State.Artifacts);
        Assert.Contains("artifacts", MlflowState.Read(result.Folder)!.Missing.Single());
    }

    [Fact]
    public void A_diverged_run_is_failed_in_mlflow_with_a_tag_saying_why()
    {
        using var dir = new TempDir();
        using var server = new FakeMlflowServer();
        string boom = Xor.Replace("activation: sigmoid", "activation: linear").Replace("loss: bce", "loss: mse").Replace("learning_rate: 0.5", "learning_rate: 50");
        var (result, _) = Train(dir, Client(server.Url), yaml: boom);
        Assert.Equal(RunStatus.Diverged, result.Status);
        var run = Assert.Single(server.State.Runs.Values);
        Assert.Equal("FAILED", run.Status);
        Assert.Equal("DIVERGED", run.Tags["exprunner.status"]);
    }

    [Fact]
    public void The_cli_run_with_an_unreachable_server_exits_zero_with_an_intact_folder_and_push_completes_it()
    {
        using var dir = new TempDir();
        string config = dir.Write("xor.yaml", Xor);
        int port = FakeMlflowServer.FreePort();
        var r = ExpRunnerProcess.Run(dir.Path, new Dictionary<string, string> { ["MLFLOW_TRACKING_TOKEN"] = "tok-123" },
            "run", config, "-q", "--mlflow", $"http://127.0.0.1:{port}", "--mlflow-experiment", "xor-study");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Single(r.Stderr.Split('\n'), l => l.Contains("WRN") && l.Contains("MLflow"));
        string run = Directory.GetDirectories(dir.File("runs/xor-ml")).Single();
        foreach (var f in Directory.GetFiles(run)) Assert.DoesNotContain("tok-123", File.ReadAllText(f));

        using var server = new FakeMlflowServer(port: port);
        var push = ExpRunnerProcess.Run(dir.Path, "mlflow", "push", "runs/xor-ml");
        Assert.True(push.ExitCode == 0, push.ToString());
        Assert.Contains("created MLflow run", push.Stdout);
        var again = ExpRunnerProcess.Run(dir.Path, "mlflow", "push", "runs/xor-ml");
        Assert.Contains("updated MLflow run", again.Stdout);
        Assert.Contains("0 params, 0 metric values", again.Stdout);
        Assert.Single(server.State.Runs.Values);
        Assert.Equal("xor-study", server.State.Experiments.Keys.Single());
    }

    [Fact]
    public void Ctrl_c_while_the_mirror_waits_on_a_server_that_never_answers_ends_the_process_and_says_what_is_missing()
    {
        using var dir = new TempDir();
        using var server = new FakeMlflowServer { Delay = TimeSpan.FromHours(1) }; // accepts, never answers
        using var p = ExpRunnerProcess.Start(dir.Path, null, "run", dir.Write("xor.yaml", Xor), "-q", "--mlflow", server.Url, "--mlflow-experiment", "xor-study");
        string? run = null;
        // Training is over (the record says so) while the process waits for its mirror (up to 60 s).
        Eventually.Reach(() => Directory.Exists(dir.File("runs/xor-ml")) && (run = Directory.GetDirectories(dir.File("runs/xor-ml")).SingleOrDefault()) is not null
            && RunFolder.Open(run).TryReadRecord()?.Status == RunStatus.Finished, "the run finished, its mirror flushing");
        Assert.False(p.HasExited);
        System.Diagnostics.Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(45)); // well inside the 60 s the flush would otherwise be given
        Assert.True(r.ExitCode == 0, r.ToString());                  // the training's exit code: it finished
        var state = MlflowState.Read(RunFolder.Open(run!))!;
        Assert.False(state.Complete);
        Assert.Equal("the mirror was interrupted", state.Error);
        Assert.Contains("the whole run (it was never created)", state.Missing);
        Assert.Single(r.Stderr.Split('\n'), l => l.Contains("WRN"));
    }
}
