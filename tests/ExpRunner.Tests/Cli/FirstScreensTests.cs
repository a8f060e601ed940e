using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>What a new user reads: did-you-means for a file and a key, whole sentences in init --list, a sane cadence off a terminal, the resume command.</summary>
public class FirstScreensTests
{
    [Fact]
    public void A_mistyped_file_or_a_key_without_its_section_gets_a_did_you_mean()
    {
        var file = InProcess.Run("run", Path.Combine(Repo.Root, "experiments", "mnist-sdg.yaml"));
        Assert.Equal(2, file.ExitCode);
        Assert.Contains($"no such file (did you mean '{Path.Combine(Repo.Root, "experiments", "mnist-sgd.yaml")}'?)", file.Stderr);
        var key = InProcess.Run("validate", Repo.Experiments("xor.yaml"), "--set", "learning_rate=0.1");
        Assert.Equal(2, key.ExitCode);
        Assert.Contains("learning_rate: unknown key (did you mean 'training.learning_rate'?)", key.Stderr);
    }

    [Fact]
    public void Init_list_describes_every_shipped_experiment_in_a_whole_sentence()
    {
        var r = InProcess.Run(new InProcess.Terminal(ExpRunner.Cli.CliContext.PipeWidth), null, "init", "--list");
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Directory.GetFiles(Path.Combine(Repo.Root, "experiments"), "*.yaml").Length, lines.Length);
        Assert.All(lines, l => Assert.Matches(@"^\S+  \S.*[.?!]$", l.TrimEnd()));
    }

    [Fact]
    public void Off_a_terminal_a_long_run_writes_a_few_lines_not_one_an_epoch()
    {
        using var dir = new TempDir();
        const int epochs = 3000;
        var r = InProcess.Run("run", dir.Write("many.yaml", $$"""
            name: many
            dataset: { name: xor, samples: 40 }
            model: { layers: [ { units: 2, activation: tanh }, { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { learning_rate: 0.1, batch_size: 32, epochs: {{epochs}} }
            """), "--runs", dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        var summary = RunFolder.Open(Directory.GetDirectories(dir.File("runs/many")).Single()).ReadSummary()!;
        var lines = r.Stderr.Split('\n').Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)).ToList();
        // The first three, the last, and at most one a second between: bounded by the run's own duration.
        Assert.Equal(["epoch 1:", "epoch 2:", "epoch 3:"], lines.Take(3).Select(l => l.Split(' ')[0] + " " + l.Split(' ')[1]));
        Assert.StartsWith($"epoch {epochs}:", lines[^1]);
        Assert.True(lines.Count <= 4 + (int)Math.Ceiling(summary.DurationSeconds) + 1, $"{lines.Count} lines in {summary.DurationSeconds} s");
        Assert.Contains(lines, l => l.Contains("(epochs ", StringComparison.Ordinal)); // a line says which epochs it stands for
        string log = File.ReadAllText(Path.Combine(Directory.GetDirectories(dir.File("runs/many")).Single(), "log.txt"));
        int logged = log.Split('\n').Count(l => l.Contains("Epoch ", StringComparison.Ordinal));
        Assert.True(logged <= 4 + (int)Math.Ceiling(summary.DurationSeconds) + 1, $"{logged} epoch lines in log.txt");
        Assert.Contains($"Epoch {epochs}:", log);
    }

    [Fact]
    public async Task An_interrupted_run_says_how_to_resume_it()
    {
        using var dir = new TempDir();
        using var cancel = new CancellationTokenSource();
        string config = dir.Write("k.yaml", """
            name: k
            dataset: { name: xor, samples: 200 }
            model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { learning_rate: 0.1, batch_size: 20, epochs: 100000 }
            """);
        var run = Task.Run(() => InProcess.Run(new InProcess.Terminal(Cancel: cancel.Token), null, "run", config, "--runs", dir.File("runs")), TestContext.Current.CancellationToken);
        Eventually.Reach(() => Directory.Exists(dir.File("runs/k")) && Directory.GetDirectories(dir.File("runs/k")) is [var d] && File.Exists(Path.Combine(d, RunFolder.CheckpointFile)), "a checkpoint");
        cancel.Cancel();
        var r = await run;
        Assert.Equal(130, r.ExitCode);
        string id = Path.GetFileName(Directory.GetDirectories(dir.File("runs/k")).Single());
        Assert.Contains($"resume with: exprunner run --resume {id} --runs {dir.File("runs")}", r.Stdout);
    }
}
