using System.Diagnostics;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>`exprunner sweep` and `exprunner compare` as a user runs them.</summary>
public class SweepCommandTests
{
    private const string Config = """
        name: sw
        seed: 2
        dataset: { name: circles, samples: 300, path: missing.csv }
        model:
          layers:
            - { units: 8, activation: tanh }
            - { units: 1, activation: sigmoid }
          init: { scheme: xavier_uniform }
        loss: bce
        training: { learning_rate: 0.3, batch_size: 16, epochs: 15 }
        sweep:
          grid:
            training.learning_rate: [0.1, 0.3]
            dataset.name: [circles, csv]
        """;

    private static SweepRecord Sweep(string runs) => new SweepStore(runs).Read("latest");

    [Fact]
    public void Parallel_trials_and_their_threads_share_the_cores()
    {
        using var dir = new TempDir();
        string config = dir.Write("sw.yaml", Config.Replace("epochs: 15 }", "epochs: 2, threads: 64 }").Replace("[circles, csv]", "[circles]"));
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "2");
        Assert.True(r.ExitCode == 0, r.ToString());
        int share = Math.Max(1, Environment.ProcessorCount / 2);
        Assert.Contains($"each trial's matrix products use at most {share} thread", r.Stderr);
        var sweep = Sweep(dir.File("runs"));
        Assert.All(sweep.Trials, t => Assert.Equal(share, RunFolder.Open(t.RunDir!).ReadRecord()!.Threads));
    }

    [Fact]
    public void A_sweep_runs_every_trial_reports_the_failure_and_resume_reruns_only_what_failed()
    {
        using var dir = new TempDir();
        string config = dir.Write("sw.yaml", Config);
        var dry = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Contains("4 trials", dry.Stdout);
        Assert.False(Directory.Exists(dir.File("runs")));

        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "2");
        Assert.True(r.ExitCode == 1, r.ToString());                 // two csv trials fail: missing.csv does not exist
        Assert.Contains("2 FINISHED, 2 FAILED", r.Stderr.Replace("2 FAILED, 2 FINISHED", "2 FINISHED, 2 FAILED"));
        Assert.Contains("missing.csv", r.Stderr);
        var sweep = Sweep(dir.File("runs"));
        Assert.Equal(RunStatus.Failed, sweep.Status);
        Assert.Equal(4, sweep.Trials.Count);
        var finished = sweep.Trials.Where(t => t.Status == RunStatus.Finished).ToList();
        Assert.Equal(2, finished.Count);
        Assert.All(finished, t =>
        {
            var record = RunFolder.Open(t.RunDir!).ReadRecord()!;
            Assert.Equal(new SweepRef(sweep.Id, t.Index), record.Sweep);
            Assert.Contains($"training.learning_rate={(t.Index < 2 ? "0.1" : "0.3")}", record.Overrides);
        });

        // Make the failed trials possible, then resume: only they run again.
        File.WriteAllText(dir.File("missing.csv"), "x,y,label\n" + string.Join("\n", Enumerable.Range(0, 100).Select(i => $"{i % 10},{i / 10},{(i % 10 > i / 10 ? 1 : 0)}")) + "\n");
        var resumed = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", sweep.Id, "--jobs", "2");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("2 of 4 trials to run again", resumed.Stderr);
        var after = Sweep(dir.File("runs"));
        Assert.Equal(RunStatus.Finished, after.Status);
        Assert.All(after.Trials, t => Assert.Equal(RunStatus.Finished, t.Status));
        foreach (var t in finished) Assert.Equal(t.RunDir, after.Trials[t.Index].RunDir); // untouched
        Assert.Equal(4, Directory.GetDirectories(dir.File("runs/sw")).Length);

        var compare = ExpRunnerProcess.Run(dir.Path, "compare", "--sweep", "latest", "--group-by", "dataset.name", "--format", "csv", "--plot", "curves.html");
        Assert.True(compare.ExitCode == 0, compare.ToString());
        var lines = compare.Stdout.Trim().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("group,dataset.name,test_accuracy,test_accuracy_std,test_accuracy_n", lines[0]);
        Assert.Contains("<svg", File.ReadAllText(dir.File("curves.html")));
        Assert.Contains("circles (test)", File.ReadAllText(dir.File("curves.html")));

        var filtered = ExpRunnerProcess.Run(dir.Path, "compare", "runs/sw", "--filter", "params.dataset.name = 'csv'", "--format", "json");
        Assert.True(filtered.ExitCode == 0, filtered.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(filtered.Stdout);
        Assert.Equal(2, doc.RootElement.GetProperty("rows").GetArrayLength());
        var bad = ExpRunnerProcess.Run(dir.Path, "compare", "--filter", "metrics.test_accuracy >> 1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("position 24", bad.Stderr);
    }

    [Fact]
    public void Interrupting_a_sweep_marks_running_trials_killed_and_resume_finishes_the_rest()
    {
        using var dir = new TempDir();
        string config = dir.Write("long.yaml", Config.Replace("dataset.name: [circles, csv]", "training.batch_size: [16]").Replace("epochs: 15", "epochs: 400"));
        using var p = ExpRunnerProcess.Start(dir.Path, null, "sweep", config, "--jobs", "1");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60) &&
               !(Directory.Exists(dir.File("runs/sw")) && Directory.GetFiles(dir.File("runs/sw"), "metrics.csv", SearchOption.AllDirectories)
                   .Any(f => File.ReadAllLines(f).Length > 3)))
            Thread.Sleep(100);
        Process.Start("kill", ["-INT", p.Id.ToString()])!.WaitForExit();
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 130, r.ToString());
        Assert.Contains("resume with: exprunner sweep --resume", r.Stderr);
        var sweep = Sweep(dir.File("runs"));
        Assert.Equal(RunStatus.Killed, sweep.Status);
        Assert.Equal(RunStatus.Killed, sweep.Trials[0].Status);
        Assert.Equal(TrialStatus.Pending, sweep.Trials[1].Status);
        Assert.Equal(RunStatus.Killed, RunFolder.Open(sweep.Trials[0].RunDir!).ReadRecord()!.Status);

        var refused = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", "latest", "--set", "training.epochs=1");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--resume reruns a sweep as it was defined", refused.Stderr);
        var resumed = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", "latest");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.All(Sweep(dir.File("runs")).Trials, t => Assert.Equal(RunStatus.Finished, t.Status));
    }

    [Fact]
    public void A_sweep_over_a_key_that_does_not_exist_is_refused_before_anything_runs()
    {
        using var dir = new TempDir();
        string config = dir.Write("sw.yaml", Config);
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--set", "training.learnin_rate=0.1,0.2");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("did you mean 'learning_rate'", r.Stderr);
        Assert.False(Directory.Exists(dir.File("runs")));
    }
}
