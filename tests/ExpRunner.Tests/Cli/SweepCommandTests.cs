using System.Diagnostics;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>`exprunner sweep` and `exprunner compare` as a user runs them: real processes, real signals.</summary>
public class SweepCommandTests
{
    private const string Config = """
        name: sw
        seed: 2
        dataset: { name: circles, samples: 300 }
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
            dataset: [{name: circles, samples: 300}, {name: csv, path: broken.csv}]
        """;

    /// <summary>Two trials that never end by themselves (a million epochs).</summary>
    private const string Endless = """
        name: long
        seed: 2
        dataset: { name: circles, samples: 300 }
        model: { layers: [ { units: 8, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.3, batch_size: 16, epochs: 1000000 }
        sweep: { grid: { training.learning_rate: [0.1, 0.3] } }
        """;

    private static SweepRecord Latest(string runs) => new SweepStore(runs).Read("latest");

    /// <summary>Trial <paramref name="index"/> of the latest sweep is training: its run folder exists and has written epochs.</summary>
    private static TrialMarker Training(string runs, int index)
    {
        TrialMarker? marker = null;
        Eventually.Reach(() =>
        {
            var store = new SweepStore(runs);
            if (store.Latest() is not { } id || store.ReadMarker(id, index) is not { } m) return false;
            marker = m;
            string metrics = Path.Combine(runs, m.RunDir, RunFolder.MetricsFile);
            return File.Exists(metrics) && File.ReadLines(metrics).Count() > 3;
        }, $"trial {index} of the sweep training");
        return marker!;
    }

    private static void Signal(int pid, string signal) => Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    [Fact]
    public void Parallel_trials_and_their_threads_share_the_cores()
    {
        using var dir = new TempDir();
        string config = dir.Write("sw.yaml", Config.Replace("epochs: 15 }", "epochs: 2, threads: 64 }").Replace(", {name: csv, path: broken.csv}]", "]"));
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "2");
        Assert.True(r.ExitCode == 0, r.ToString());
        int share = Math.Max(1, Environment.ProcessorCount / 2);
        Assert.Contains($"each trial's matrix products use at most {share} thread", r.Stderr);
        var store = new SweepStore(dir.File("runs"));
        Assert.All(store.Read("latest").Trials, t => Assert.Equal(share, RunFolder.Open(store.RunDirOf(t)!).ReadRecord()!.Threads));
    }

    [Fact]
    public void A_sweep_runs_every_trial_reports_the_failure_and_resume_reruns_only_what_failed()
    {
        using var dir = new TempDir();
        string config = dir.Write("sw.yaml", Config);
        dir.Write("broken.csv", "x,y,label\n1,2,0\n3,4\n"); // its second row is short: the csv trials fail as they read it
        var dry = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Contains("4 trials (2 × 2)", dry.Stdout);
        Assert.False(Directory.Exists(dir.File("runs")));

        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "2");
        Assert.True(r.ExitCode == 1, r.ToString());                 // two csv trials fail: broken.csv has a short row
        Assert.Contains("FAILED: 2 FINISHED, 2 FAILED", r.Stderr);
        Assert.Contains("broken.csv", r.Stderr);
        var store = new SweepStore(dir.File("runs"));
        var sweep = store.Read("latest");
        Assert.Equal(RunStatus.Failed, sweep.Status);
        Assert.Equal(4, sweep.Trials.Count);
        var finished = sweep.Trials.Where(t => t.Status == RunStatus.Finished).ToList();
        Assert.Equal(2, finished.Count);
        Assert.All(finished, t =>
        {
            var record = RunFolder.Open(store.RunDirOf(t)!).ReadRecord()!;
            Assert.Equal(new SweepRef(sweep.Id, t.Index), record.Sweep);
            Assert.Equal(Path.GetFullPath(config), record.SourceConfig); // the user's file, not the sweep's copy
            Assert.Contains($"training.learning_rate={(t.Index < 2 ? "0.1" : "0.3")}", record.Overrides);
        });

        // Make the failed trials possible, then resume: only they run again.
        File.WriteAllText(dir.File("broken.csv"), "x,y,label\n" + string.Join("\n", Enumerable.Range(0, 100).Select(i => $"{i % 10},{i / 10},{(i % 10 > i / 10 ? 1 : 0)}")) + "\n");
        var resumed = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", sweep.Id, "--jobs", "2");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("2 of 4 trials to run or follow", resumed.Stderr);
        var after = store.Read("latest");
        Assert.Equal(RunStatus.Finished, after.Status);
        Assert.All(after.Trials, t => Assert.Equal(RunStatus.Finished, t.Status));
        foreach (var t in finished) Assert.Equal((t.RunDir, 1), (after.Trials[t.Index].RunDir, after.Trials[t.Index].Attempts)); // untouched
        Assert.Equal(4, Directory.GetDirectories(dir.File("runs/sw")).Length);

        var compare = ExpRunnerProcess.Run(dir.Path, "compare", "--sweep", "latest", "--group-by", "dataset.name", "--format", "csv", "--plot", "curves.html");
        Assert.True(compare.ExitCode == 0, compare.ToString());
        var lines = compare.Stdout.Trim().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("group,dataset.name,test_accuracy,test_accuracy_std,test_accuracy_n", lines[0]);
        Assert.Contains("<svg", File.ReadAllText(dir.File("curves.html")));
        Assert.Contains("name=circles (n=2) (test)", File.ReadAllText(dir.File("curves.html")));

        var filtered = ExpRunnerProcess.Run(dir.Path, "compare", "runs/sw", "--filter", "params.dataset.name = 'csv'", "--format", "json");
        Assert.True(filtered.ExitCode == 0, filtered.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(filtered.Stdout);
        Assert.Equal(2, doc.RootElement.GetProperty("rows").GetArrayLength());
        var bad = ExpRunnerProcess.Run(dir.Path, "compare", "--filter", "metrics.test_accuracy >> 1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("position 24", bad.Stderr);
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void Interrupting_a_sweep_marks_running_trials_killed_and_resume_finishes_the_rest(string signal)
    {
        using var dir = new TempDir();
        string config = dir.Write("long.yaml", Endless);
        using var p = ExpRunnerProcess.Start(dir.Path, null, "sweep", config, "--jobs", "1", "--no-fuse"); // one trial in flight, the other waiting
        Training(dir.File("runs"), 0);
        Signal(p.Id, signal);
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 130, r.ToString());
        Assert.Contains("resume with: exprunner sweep --resume", r.Stderr);
        var store = new SweepStore(dir.File("runs"));
        var sweep = store.Read("latest");
        Assert.Equal(RunStatus.Killed, sweep.Status);
        Assert.Equal([RunStatus.Killed, TrialStatus.Pending], sweep.Trials.Select(t => t.Status));
        Assert.Equal(RunStatus.Killed, RunFolder.Open(store.RunDirOf(sweep.Trials[0])!).ReadRecord()!.Status);

        var refused = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", "latest", "--set", "training.epochs=1");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--resume takes a sweep as it was defined", refused.Stderr);
        // The sweep runs its own copy of the config: shorten its trials so that they can finish. Without
        // its checkpoint (as if killed before its first epoch ended) the killed trial starts over.
        File.Delete(Path.Combine(store.RunDirOf(sweep.Trials[0])!, RunFolder.CheckpointFile));
        string copy = store.PathOf(sweep.Id, SweepStore.ConfigFile);
        File.WriteAllText(copy, File.ReadAllText(copy).Replace("epochs: 1000000", "epochs: 3"));
        var resumed = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", "latest");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var after = store.Read("latest");
        Assert.All(after.Trials, t => Assert.Equal(RunStatus.Finished, t.Status));
        Assert.Equal(2, after.Trials[0].Attempts);
        Assert.Equal(3, Directory.GetDirectories(dir.File("runs/long")).Length); // the killed attempt's folder is kept
    }

    [Fact]
    public void Resume_continues_an_interrupted_trial_from_its_checkpoint_in_its_folder()
    {
        using var dir = new TempDir();
        string config = dir.Write("long.yaml", Endless.Replace("sweep: { grid: { training.learning_rate: [0.1, 0.3] } }", ""));
        using var first = ExpRunnerProcess.Start(dir.Path, null, "sweep", config);
        var marker = Training(dir.File("runs"), 0);
        var folder = RunFolder.Open(Path.Combine(dir.File("runs"), marker.RunDir));
        Eventually.Reach(() => File.Exists(folder.PathOf(RunFolder.CheckpointFile)), "a checkpoint");
        Signal(first.Id, "INT");
        Assert.Equal(130, ExpRunnerProcess.Wait(first, TimeSpan.FromSeconds(60)).ExitCode);
        Assert.Equal(RunStatus.Killed, folder.ReadRecord()!.Status);

        using var second = ExpRunnerProcess.Start(dir.Path, null, "sweep", "--resume", "latest");
        Eventually.Reach(() => folder.ReadRecord() is { Status: RunStatus.Running, Resumptions.Count: 1 }, "the trial resumed in its folder");
        int from = folder.ReadRecord()!.Resumptions[0].FromEpoch;
        Eventually.Reach(() => folder.ReadMetrics().Count > 2 * (from + 3), "epochs after the resumption");
        Signal(second.Id, "INT");
        Assert.Equal(130, ExpRunnerProcess.Wait(second, TimeSpan.FromSeconds(60)).ExitCode);

        var trial = Latest(dir.File("runs")).Trials.Single();
        Assert.Equal((2, RunStatus.Killed, folder.Id), (trial.Attempts, trial.Status, trial.RunId));
        Assert.Single(Directory.GetDirectories(dir.File("runs/long"))); // continued, not started over
        var rows = folder.ReadMetrics();
        int epochs = rows.Max(m => m.Epoch);
        Assert.Equal(Enumerable.Range(1, epochs), rows.Where(m => m.Split == "train").Select(m => m.Epoch));
        var whole = ExpRunnerProcess.Run(dir.Path, "run", config, "--runs", "whole", "-q", "--set", $"training.epochs={epochs}");
        Assert.True(whole.ExitCode == 0, whole.ToString());
        static IEnumerable<string> Rows(IEnumerable<MetricRow> m) => m.Select(x => FormattableString.Invariant($"{x.Epoch} {x.Split} {x.Step} {x.Loss:R} {x.Accuracy:R}"));
        Assert.Equal(Rows(RunFolder.Open(Directory.GetDirectories(dir.File("whole/long")).Single()).ReadMetrics()), Rows(rows));
    }

    [Fact]
    public void A_second_run_of_a_sweep_that_is_running_is_refused_naming_its_holder()
    {
        using var dir = new TempDir();
        string config = dir.Write("long.yaml", Endless);
        using var p = ExpRunnerProcess.Start(dir.Path, null, "sweep", config, "--jobs", "1", "--no-fuse");
        Training(dir.File("runs"), 0);
        var twice = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", "latest");
        Assert.True(twice.ExitCode == 2, twice.ToString());
        Assert.Contains($"is being run by another exprunner (pid {p.Id} on {Environment.MachineName}", twice.Stderr);
        Signal(p.Id, "TERM");
        Assert.Equal(130, ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(60)).ExitCode);
        Assert.Single(Directory.GetDirectories(dir.File("runs/long"))); // nothing ran twice
    }

    [Fact]
    public void After_kill_9_of_the_sweep_process_its_running_trial_is_followed_never_started_twice()
    {
        using var dir = new TempDir();
        string config = dir.Write("long.yaml", Endless);
        string runs = dir.File("runs");
        using var p = ExpRunnerProcess.Start(dir.Path, null, "sweep", config, "--jobs", "1", "--no-fuse");
        var orphan = Training(runs, 0).Process;
        try
        {
            Signal(p.Id, "KILL");
            ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(30));
            Assert.True(orphan.IsAlive(), "the trial goes on without its sweep process");

            var status = ExpRunnerProcess.Run(dir.Path, "sweep", "--status", "latest");
            Assert.True(status.ExitCode == 0, status.ToString());
            Assert.Equal([RunStatus.Running, TrialStatus.Pending], Latest(runs).Trials.Select(t => t.Status));

            // A resume follows the orphan (it fills the one job slot) instead of starting trial 0 again.
            using var resume = ExpRunnerProcess.Start(dir.Path, null, "sweep", "--resume", "latest", "--jobs", "1", "--no-fuse");
            var store = new SweepStore(runs);
            Eventually.Reach(() => File.Exists(store.PathOf(store.Latest()!, SweepLock.HolderFile))
                && File.ReadAllText(store.PathOf(store.Latest()!, SweepLock.HolderFile)).Contains($"\"pid\": {resume.Id},"), "the resume holding the sweep");
            Signal(resume.Id, "TERM"); // stops what it follows: the orphan ends KILLED
            var r = ExpRunnerProcess.Wait(resume, TimeSpan.FromSeconds(60));
            Assert.True(r.ExitCode == 130, r.ToString());
            Eventually.Reach(() => orphan.IsAlive() == false, "the orphan trial ending");
            var sweep = Latest(runs);
            Assert.Equal([RunStatus.Killed, TrialStatus.Pending], sweep.Trials.Select(t => t.Status));
            Assert.Equal(1, sweep.Trials[0].Attempts);
            Assert.Single(Directory.GetDirectories(dir.File("runs/long"))); // no twin
            Assert.Equal(RunStatus.Killed, RunFolder.Open(store.RunDirOf(sweep.Trials[0])!).ReadRecord()!.Status);
        }
        finally
        {
            if (orphan.IsAlive() == true) Signal(orphan.Pid, "KILL");
        }
    }

    [Fact]
    public async Task A_trial_interrupted_as_it_starts_is_killed_not_failed()
    {
        using var dir = new TempDir();
        var store = new SweepStore(dir.File("runs"));
        var sweep = NewSweep.Plan(dir.Write("long.yaml", Endless), []).Create(store, "local", null, DateTimeOffset.UtcNow);
        using var executor = new LocalExecutor(store, ["dotnet", ExpRunnerProcess.Dll], jobs: 1, maxThreads: 1, TimeProvider.System);
        var started = executor.Submit(sweep, [sweep.Trials[0]]).Trials;
        executor.Cancel(sweep, started); // SIGTERM at once: before, during or after the runtime installs its handlers
        IReadOnlyList<TrialRecord> ended = [];
        while (ended.Count == 0) ended = await executor.PollAsync(sweep, started, wait: true, TestContext.Current.CancellationToken);
        var trial = Assert.Single(ended);
        Assert.Equal(RunStatus.Killed, trial.Status);
        if (store.ReadMarker(sweep.Id, 0) is { } marker) // it got as far as its run folder: that says KILLED too
            Assert.Equal(RunStatus.Killed, RunFolder.Open(Path.Combine(store.RunsRoot, marker.RunDir)).ReadRecord()!.Status);
    }

    [Fact]
    public void A_moved_runs_directory_still_compares_by_sweep()
    {
        using var dir = new TempDir();
        string config = dir.Write("sw.yaml", Config.Replace(", {name: csv, path: broken.csv}]", "]").Replace("epochs: 15", "epochs: 2"));
        Assert.Equal(0, ExpRunnerProcess.Run(dir.Path, "sweep", config).ExitCode);
        Directory.Move(dir.File("runs"), dir.File("elsewhere"));
        var r = ExpRunnerProcess.Run(dir.Path, "compare", "--sweep", "latest", "--runs", "elsewhere", "--format", "csv");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(3, r.Stdout.Trim().Split('\n').Length); // header and both trials
    }

    [Fact]
    public void A_sweep_whose_data_is_not_there_is_refused_before_anything_is_written()
    {
        using var dir = new TempDir();
        string config = dir.Write("sw.yaml", Config); // half its trials read broken.csv, which does not exist
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "2");
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("error: broken.csv: CSV file not found (every trial reading it would fail; nothing was started)", r.Stderr);
        Assert.False(Directory.Exists(dir.File("runs")));

        // A dry run starts nothing: it says so and shows the plan.
        var dry = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Contains("warning: broken.csv: CSV file not found (every trial reading it would fail)", dry.Stderr);
        Assert.Contains("4 trials (2 × 2)", dry.Stdout);

        // An image dataset names the files missing and how to get them.
        string digits = dir.Write("digits.yaml", """
            name: digits
            dataset: { name: mnist, path: nowhere }
            model: { layers: [ { units: 10, activation: softmax } ] }
            loss: cross_entropy
            training: { learning_rate: 0.1, batch_size: 100, epochs: 1 }
            sweep: { grid: { training.learning_rate: [0.1, 0.3] } }
            """);
        var mnist = ExpRunnerProcess.Run(dir.Path, "sweep", digits);
        Assert.True(mnist.ExitCode == 2, mnist.ToString());
        Assert.Contains("error: mnist data not found in 'nowhere': missing train-images-idx3-ubyte[.gz]", mnist.Stderr);
        Assert.Contains("exprunner data fetch mnist", mnist.Stderr);
        Assert.False(Directory.Exists(dir.File("runs")));
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
