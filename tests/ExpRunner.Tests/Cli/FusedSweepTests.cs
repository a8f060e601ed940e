using System.Diagnostics;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tests.Training;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>
/// `exprunner sweep` trains compatible trials together by default (a process per group) and leaves
/// every trial's folder as `--no-fuse` (each trial its own process) does; its trials stay trials:
/// pruned, stopped and resumed, followed after the sweep process is killed.
/// </summary>
public class FusedSweepTests
{
    /// <summary>The network and data of <see cref="TrialGroupRunTests"/>, 3 epochs, over every optimizer × both reductions (10 trials).</summary>
    private static readonly string Config = TrialGroupRunTests.Yaml.Replace("epochs: 4", "epochs: 3") + "\n" + """
        sweep:
          grid:
            training.optimizer: [{name: sgd, momentum: 0.9}, adam, adamw, rmsprop, adagrad]
            training.gradient_reduction: [mean, sum]
        """;

    private static SweepRecord Latest(string runs) => new SweepStore(runs).Read("latest");

    [Fact]
    public void A_fused_sweep_leaves_every_trial_folder_as_its_trials_run_one_by_one()
    {
        using var dir = new TempDir();
        string config = dir.Write("fused.yaml", Config);
        var dry = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "2", "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Contains("trains together (2 jobs", dry.Stderr);
        Assert.Contains("trials 0–4 in one process", dry.Stderr);
        Assert.Contains("trials 5–9 in one process", dry.Stderr);

        var fused = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "2", "--runs", "fused");
        Assert.True(fused.ExitCode == 0, fused.ToString());
        var alone = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "2", "--no-fuse", "--runs", "alone");
        Assert.True(alone.ExitCode == 0, alone.ToString());

        var (a, f) = (Latest(dir.File("alone")), Latest(dir.File("fused")));
        // Fused: two processes of five trials each; alone: ten processes.
        Assert.Equal(2, f.Trials.Select(t => t.Process!.Pid).Distinct().Count());
        Assert.Equal(10, a.Trials.Select(t => t.Process!.Pid).Distinct().Count());
        Assert.All(f.Trials, t => Assert.Equal(RunStatus.Finished, t.Status));
        for (int i = 0; i < a.Trials.Count; i++)
        {
            var (ra, rf) = (RunFolder.Open(Path.Combine(dir.File("alone"), a.Trials[i].RunDir!)), RunFolder.Open(Path.Combine(dir.File("fused"), f.Trials[i].RunDir!)));
            TrialGroupRunTests.Same(ra, rf, $"trial {i} ({a.Trials[i].Label})");
            Assert.Equal(new SweepRef(f.Id, i), rf.ReadRecord()!.Sweep);
        }
    }

    [Fact]
    public void Trials_of_a_group_are_pruned_at_their_rungs_and_the_rest_of_the_group_trains_on()
    {
        using var dir = new TempDir();
        string config = dir.Write("fused.yaml", Config.Replace("epochs: 3", "epochs: 9") + "\n" + """
              prune: { metric: validation_accuracy, min_epochs: 1, reduction_factor: 3 }
            """);
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "1");
        Assert.True(r.ExitCode == 0, r.ToString());
        var sweep = Latest(dir.File("runs"));
        Assert.Single(sweep.Trials.Select(t => t.Process!.Pid).Distinct()); // one group
        // One job: the decisions are the config's and seed's — the group's trials report at each rung in trial order, whatever thread runs them.
        var again = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--jobs", "1", "--runs", "again");
        Assert.True(again.ExitCode == 0, again.ToString());
        string Decisions(SweepRecord s, string runs) => string.Join(" ", s.Trials.Select(t => $"{t.Status}@{RunFolder.Open(Path.Combine(runs, t.RunDir!)).ReadSummary()!.EpochsRun}"));
        Assert.Equal(Decisions(sweep, dir.File("runs")), Decisions(Latest(dir.File("again")), dir.File("again")));
        var pruned = sweep.Trials.Where(t => t.Status == RunStatus.Pruned).ToList();
        Assert.NotEmpty(pruned);
        Assert.Contains(sweep.Trials, t => t.Status == RunStatus.Finished);
        foreach (var t in pruned)
        {
            var summary = RunFolder.Open(Path.Combine(dir.File("runs"), t.RunDir!)).ReadSummary()!;
            Assert.Equal(RunStatus.Pruned, summary.Status);
            Assert.Contains(summary.EpochsRun, new[] { 1, 3 }); // at a rung
        }
    }

    [Fact]
    public void An_interrupted_group_leaves_every_trial_killed_with_its_checkpoint_and_resume_continues_each_in_its_folder()
    {
        using var dir = new TempDir();
        string config = dir.Write("fused.yaml", Config.Replace("epochs: 3", "epochs: 1000000"));
        string runs = dir.File("runs");
        using var p = ExpRunnerProcess.Start(dir.Path, null, "sweep", config, "--jobs", "1");
        var store = new SweepStore(runs);
        Eventually.Reach(() => store.Latest() is { } id && Enumerable.Range(0, 10).All(i => store.ReadMarker(id, i) is { } m
            && File.Exists(Path.Combine(runs, m.RunDir, RunFolder.CheckpointFile))), "every trial of the group past its first epoch");
        Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        var stopped = ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(60));
        Assert.True(stopped.ExitCode == 130, stopped.ToString());
        var sweep = Latest(runs);
        Assert.All(sweep.Trials, t =>
        {
            Assert.Equal(RunStatus.Killed, t.Status);
            var folder = RunFolder.Open(Path.Combine(runs, t.RunDir!));
            Assert.Equal(RunStatus.Killed, folder.ReadRecord()!.Status);
            Assert.True(File.Exists(folder.PathOf(RunFolder.CheckpointFile)));
        });

        // Resumed, each trial continues from its checkpoint in its own folder, the ten again as one group.
        var dirs = sweep.Trials.Select(t => t.RunDir).ToList();
        using var resume = ExpRunnerProcess.Start(dir.Path, null, "sweep", "--resume", "latest", "--jobs", "1");
        // One job: all ten continue together (they stopped at the same point), each in its own folder.
        Eventually.Reach(() => dirs.All(d => RunFolder.Open(Path.Combine(runs, d!)).TryReadRecord() is { Resumptions.Count: 1 } r && RunFolder.EffectiveStatus(r) == RunStatus.Running),
            "every trial resumed in its folder");
        Process.Start("kill", ["-TERM", resume.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        Assert.Equal(130, ExpRunnerProcess.Wait(resume, TimeSpan.FromSeconds(60)).ExitCode);
        var after = Latest(runs);
        Assert.Equal(dirs, after.Trials.Select(t => t.RunDir).ToList()); // continued, never started over
        Assert.All(after.Trials, t => Assert.Equal((RunStatus.Killed, 2), (t.Status, t.Attempts)));
        Assert.Single(after.Trials.Select(t => t.Process!.Pid).Distinct()); // continued as one group
        Assert.Equal(10, Directory.GetDirectories(Path.Combine(runs, "grouped")).Length);
    }

    [Fact]
    public void After_kill_9_of_the_sweep_process_its_group_is_followed_never_started_twice()
    {
        using var dir = new TempDir();
        string config = dir.Write("fused.yaml", Config.Replace("epochs: 3", "epochs: 1000000"));
        string runs = dir.File("runs");
        using var p = ExpRunnerProcess.Start(dir.Path, null, "sweep", config, "--jobs", "1");
        var store = new SweepStore(runs);
        ProcessRef? group = null;
        Eventually.Reach(() => store.Latest() is { } id && Enumerable.Range(0, 10).All(i => store.ReadMarker(id, i) is { } m && (group = m.Process) is not null), "every trial started");
        try
        {
            Process.Start("kill", ["-KILL", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(30));
            Assert.True(group!.IsAlive(), "the group goes on without its sweep process");
            using var resume = ExpRunnerProcess.Start(dir.Path, null, "sweep", "--resume", "latest", "--jobs", "1");
            Eventually.Reach(() => File.Exists(store.PathOf(store.Latest()!, SweepLock.HolderFile))
                && File.ReadAllText(store.PathOf(store.Latest()!, SweepLock.HolderFile)).Contains($"\"pid\": {resume.Id},"), "the resume holding the sweep");
            Process.Start("kill", ["-TERM", resume.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit(); // stops the group it follows
            Assert.Equal(130, ExpRunnerProcess.Wait(resume, TimeSpan.FromSeconds(60)).ExitCode);
            Eventually.Reach(() => group.IsAlive() == false, "the group ending");
            var sweep = Latest(runs);
            Assert.All(sweep.Trials, t => Assert.Equal((RunStatus.Killed, 1), (t.Status, t.Attempts)));
            Assert.Equal(10, Directory.GetDirectories(Path.Combine(runs, "grouped")).Length); // no twins
        }
        finally
        {
            if (group?.IsAlive() == true) Process.Start("kill", ["-KILL", group.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        }
    }
}
