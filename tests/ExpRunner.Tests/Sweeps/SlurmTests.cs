using System.Diagnostics;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Sweeps;

/// <summary>
/// The Slurm executor against a real single-node Slurm cluster, which `make test` starts with
/// tests/slurm/up.sh (and stops with down.sh). Without one these tests fail and say so.
/// </summary>
public class SlurmTests
{
    private const string Config = """
        name: sl
        seed: 5
        dataset: { name: circles, samples: 300 }
        model:
          layers:
            - { units: 8, activation: tanh }
            - { units: 1, activation: sigmoid }
          init: { scheme: xavier_uniform }
        loss: bce
        training: { learning_rate: 0.3, batch_size: 16, epochs: 10 }
        """;

    private static void RequireSlurm()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("sinfo", "-h -o %T") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            string state = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode == 0 && state.Trim().Length > 0) return;
        }
        catch (System.ComponentModel.Win32Exception) { }
        Assert.Fail("SLURM IS NOT RUNNING: these tests need the private single-node cluster that `make test` starts (tests/run.sh, with SLURM_CONF set)");
    }

    private static SweepRecord Latest(string runs) => new SweepStore(runs).Read("latest");

    private static string Squeue(string job)
    {
        using var p = Process.Start(new ProcessStartInfo("squeue", ["-h", "-j", job, "-o", "%T"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string state = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return state;
    }

    /// <summary>scontrol, which must succeed (or fail only with the message <paramref name="may"/>).</summary>
    private static void Scontrol(string[] args, string? may = null)
    {
        using var p = Process.Start(new ProcessStartInfo("scontrol", args) { RedirectStandardError = true })!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0 || may is not null && error.Contains(may, StringComparison.Ordinal), $"scontrol {string.Join(' ', args)}: {error}");
    }

    /// <summary>What Slurm and the run say of a task that did not reach a state: its job, its output and the run's record and log.</summary>
    private static string Explain(string runs, string task, RunFolder folder)
    {
        var sb = new System.Text.StringBuilder();
        using (var p = Process.Start(new ProcessStartInfo("scontrol", ["show", "job", task]) { RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            sb.AppendLine(p.StandardOutput.ReadToEnd()).AppendLine(p.StandardError.ReadToEnd());
            p.WaitForExit();
        }
        var record = folder.ReadRecord();
        sb.AppendLine($"run: {record?.Status} {record?.Reason} resumptions {record?.Resumptions.Count}");
        string sweepDir = new SweepStore(runs).DirOf(Latest(runs).Id);
        foreach (var f in Directory.GetFiles(sweepDir, "slurm-*").Append(folder.PathOf(RunFolder.LogFile)).Where(File.Exists))
            sb.AppendLine($"--- {Path.GetFileName(f)}").AppendLine(string.Join('\n', File.ReadLines(f).TakeLast(15)));
        return sb.ToString();
    }

    [Fact]
    public void A_sweep_runs_as_one_job_array_of_groups_and_leaves_the_same_runs_as_the_local_executor()
    {
        RequireSlurm();
        using var dir = new TempDir();
        string config = dir.Write("sl.yaml", Config);
        string[] sweep = ["--set", "training.learning_rate=0.1,0.3", "--set", "training.batch_size=16,32"];
        var r = ExpRunnerProcess.Run(dir.Path, ["sweep", config, "--executor", "slurm", "--partition", "cpu", "--time", "00:10:00", "--max-parallel", "2", "--runs", "slurm-runs", .. sweep]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var store = new SweepStore(dir.File("slurm-runs"));
        var s = store.Read("latest");
        Assert.Equal("slurm", s.Executor);
        var job = Assert.Single(s.SlurmJobs!);
        string script = File.ReadAllText(store.PathOf(s.Id, job.Script));
        // Trials that see the same data in the same order (batch size 16; 32) train together: a group to a task.
        Assert.Contains("#SBATCH --array=0-1%2", script);
        Assert.Contains($"{s.Id}:0,2'", script);
        Assert.Contains($"{s.Id}:1,3'", script);
        Assert.Equal(2, s.Trials.Select(t => t.SchedulerId).Distinct().Count());
        Assert.Contains("#SBATCH --partition=cpu", script);
        Assert.All(s.Trials, t => Assert.Equal(RunStatus.Finished, t.Status));
        foreach (var t in s.Trials)
        {
            var record = RunFolder.Open(store.RunDirOf(t)!).ReadRecord()!;
            Assert.Equal(job.JobId, record.Slurm!.ArrayJobId);
            Assert.Equal(new SweepRef(s.Id, t.Index), record.Sweep);
        }

        var local = ExpRunnerProcess.Run(dir.Path, ["sweep", config, "--jobs", "2", "--runs", "local-runs", .. sweep]);
        Assert.True(local.ExitCode == 0, local.ToString());
        string Table(string runs) => ExpRunnerProcess.Run(dir.Path, "compare", "--sweep", "latest", "--runs", runs, "--group-by",
            "training.learning_rate,training.batch_size", "--format", "csv").Stdout;
        string Metrics(string csv) => string.Join("\n", csv.Split('\n').Select(l => string.Join(',', l.Split(',').Take(9)))); // not duration
        Assert.Equal(Metrics(Table("local-runs")), Metrics(Table("slurm-runs")));
    }

    [Fact]
    public void Failing_trials_are_reported_and_resume_resubmits_only_them()
    {
        RequireSlurm();
        using var dir = new TempDir();
        string config = dir.Write("sl.yaml", Config);
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--executor", "slurm", "--partition", "cpu", "--time", "00:05:00", "--mem", "200M",
            "--set", "dataset={name: circles, samples: 300},{name: csv, path: missing.csv}");
        Assert.True(r.ExitCode == 1, r.ToString());
        var s = Latest(dir.File("runs"));
        Assert.Equal(RunStatus.Finished, s.Trials[0].Status);
        Assert.Equal(RunStatus.Failed, s.Trials[1].Status);
        Assert.Contains("missing.csv", s.Trials[1].Reason);

        File.WriteAllText(dir.File("missing.csv"), "x,y,label\n" + string.Join("\n", Enumerable.Range(0, 60).Select(i => $"{i % 8},{i / 8},{(i % 8 > i / 8 ? 1 : 0)}")) + "\n");
        var resumed = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", s.Id, "--executor", "slurm");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var store = new SweepStore(dir.File("runs"));
        var after = store.Read("latest");
        Assert.Equal(2, after.SlurmJobs!.Count);
        Assert.Equal([1], after.SlurmJobs[1].Trials);
        string resubmitted = File.ReadAllText(store.PathOf(after.Id, after.SlurmJobs[1].Script));
        foreach (var line in new[] { "#SBATCH --partition=cpu", "#SBATCH --time=00:05:00", "#SBATCH --mem=200M" })
            Assert.Contains(line, resubmitted); // the resume submits with the sweep's own settings
        Assert.Equal(s.Trials[0].RunDir, after.Trials[0].RunDir);
        Assert.All(after.Trials, t => Assert.Equal(RunStatus.Finished, t.Status));
    }

    [Fact]
    public void A_trial_over_its_time_limit_is_killed_with_slurms_reason()
    {
        RequireSlurm();
        using var dir = new TempDir();
        string config = dir.Write("sl.yaml", Config);
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--executor", "slurm", "--time", "0:02", "--set", "training.epochs=5,9000000");
        Assert.True(r.ExitCode == 1, r.ToString());
        var s = Latest(dir.File("runs"));
        Assert.Equal(RunStatus.Finished, s.Trials[0].Status);
        Assert.Equal(RunStatus.Killed, s.Trials[1].Status);
        Assert.Equal("Slurm TIMEOUT", s.Trials[1].Reason);
        // Slurm kills the task at its time limit; the run folder records that ending as Slurm reported it.
        var killed = RunFolder.Open(new SweepStore(dir.File("runs")).RunDirOf(s.Trials[1])!);
        Assert.Equal(RunStatus.Killed, killed.ReadRecord()!.Status);
        Assert.Equal("Slurm TIMEOUT", killed.ReadRecord()!.Reason);
        Assert.Contains("KILLED", ExpRunnerProcess.Run(dir.Path, "list").Stdout);
    }

    [Fact]
    public void A_requeued_trial_continues_from_its_checkpoint_in_its_folder_like_an_uninterrupted_run()
    {
        RequireSlurm();
        using var dir = new TempDir();
        string config = dir.Write("sl.yaml", Config);
        using var p = ExpRunnerProcess.Start(dir.Path, null, "sweep", config, "--executor", "slurm", "--cancel-on-interrupt", "--set", "training.epochs=9000000", "--set", "dataset.samples=3000");
        RunFolder Folder() => RunFolder.Open(Directory.GetDirectories(dir.File("runs/sl")).Single());
        Eventually.Reach(() => Directory.Exists(dir.File("runs/sl")) && Directory.GetDirectories(dir.File("runs/sl")).Length == 1
            && File.Exists(Folder().PathOf(RunFolder.CheckpointFile)), "the trial training with a checkpoint");
        string task = Latest(dir.File("runs")).SlurmJobs!.Single().JobId + "_0";
        // As preemption or a node failure would: Slurm stops the task (SIGTERM) and queues it again.
        Scontrol(["requeue", task]);
        Eventually.Reach(() => Folder().ReadRecord()!.Status == RunStatus.Killed || Folder().ReadRecord()!.Resumptions.Count > 0, "the run stopped by the requeue");
        // A requeued job waits for a begin time (minutes): once it is pending again, it is released. A task whose launch failed
        // under load is held by Slurm (Reason=launch_failed_requeued_held) until released, as its user would.
        Eventually.Reach(() =>
        {
            if (Squeue(task) == "PENDING")
            {
                Scontrol(["update", $"JobId={task}", "StartTime=now"], may: "no longer pending"); // it may start meanwhile
                Scontrol(["release", task]); // a no-op unless held
            }
            return Folder().ReadRecord() is { Status: RunStatus.Running, Resumptions.Count: 1 };
        }, "the requeued task resuming the run", 180, 500, () => Explain(dir.File("runs"), task, Folder()));
        int from = Folder().ReadRecord()!.Resumptions[0].FromEpoch;
        Eventually.Reach(() => Folder().ReadMetrics().Count > 2 * (from + 3), "epochs after the resumption");
        Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 130, r.ToString());
        Eventually.Reach(() => Folder().ReadRecord()!.Status != RunStatus.Running, "the run recording how it ended", 30);

        // One folder for the trial, its epochs continuous, each as a run never interrupted has it.
        var folder = Folder();
        Assert.Single(folder.ReadRecord()!.Resumptions);
        var rows = folder.ReadMetrics();
        int epochs = rows.Max(m => m.Epoch);
        Assert.Equal(Enumerable.Range(1, epochs), rows.Where(m => m.Split == "train").Select(m => m.Epoch));
        var whole = ExpRunnerProcess.Run(dir.Path, "run", config, "--runs", "whole", "-q", "--set", $"training.epochs={epochs}", "--set", "dataset.samples=3000");
        Assert.True(whole.ExitCode == 0, whole.ToString());
        var reference = RunFolder.Open(Directory.GetDirectories(dir.File("whole/sl")).Single());
        static IEnumerable<string> Rows(IEnumerable<MetricRow> m) => m.Select(x => FormattableString.Invariant($"{x.Epoch} {x.Split} {x.Step} {x.Loss:R} {x.Accuracy:R}"));
        Assert.Equal(Rows(reference.ReadMetrics()), Rows(rows));
        // The checkpoint holds the weights after its last whole epoch: those of the uninterrupted run.
        var saved = IO.Safetensors.Read(reference.PathOf(RunFolder.WeightsFile)).Tensors;
        var checkpoint = IO.Safetensors.Read(folder.PathOf(RunFolder.CheckpointFile)).Tensors.Where(t => t.Name.StartsWith("layers.", StringComparison.Ordinal)).ToList();
        Assert.Equal(saved.Select(t => t.F32), checkpoint.Select(t => t.F32));
    }

    [Fact]
    public void Interrupting_a_followed_sweep_with_cancel_on_interrupt_cancels_the_jobs()
    {
        RequireSlurm();
        using var dir = new TempDir();
        string config = dir.Write("sl.yaml", Config);
        using var p = ExpRunnerProcess.Start(dir.Path, null, "sweep", config, "--executor", "slurm", "--cancel-on-interrupt", "--set", "training.epochs=9000000,9000001");
        Eventually.Reach(() => Directory.Exists(dir.File("runs/sl")) && Directory.GetFiles(dir.File("runs/sl"), "metrics.csv", SearchOption.AllDirectories).Length == 2,
            "both trials training in Slurm");
        Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 130, r.ToString());
        var s = Latest(dir.File("runs"));
        Assert.Equal(RunStatus.Killed, s.Status);
        Assert.All(s.Trials, t => Assert.Equal(RunStatus.Killed, t.Status));
        // scancel sends SIGTERM: each run records itself KILLED.
        var folders = Directory.GetDirectories(dir.File("runs/sl")).Select(RunFolder.Open).ToList();
        Eventually.Reach(() => folders.All(f => f.ReadRecord()!.Status != RunStatus.Running), "both runs recording how they ended", 30);
        Assert.All(folders, f => Assert.Equal(RunStatus.Killed, f.ReadRecord()!.Status));
    }

    [Fact]
    public void A_partition_that_does_not_exist_is_refused_before_anything_is_submitted()
    {
        RequireSlurm();
        using var dir = new TempDir();
        string config = dir.Write("sl.yaml", Config);
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--executor", "slurm", "--partition", "nope", "--set", "training.learning_rate=0.1,0.2");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no partition 'nope' (partitions: cpu)", r.Stderr);
        Assert.False(Directory.Exists(dir.File("runs/_sweeps")) && Directory.GetDirectories(dir.File("runs/_sweeps")).Length > 0);
    }

    [Fact]
    public void A_slurm_sweep_mirrored_to_mlflow_is_a_parent_run_with_its_array_tasks_as_children()
    {
        RequireSlurm();
        using var server = RealMlflow.Plain();
        using var dir = new TempDir();
        string exp = "slurm-" + Guid.NewGuid().ToString("N")[..8];
        string config = dir.Write("sl.yaml", Config);
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--executor", "slurm", "--set", "training.learning_rate=0.1,0.3", "--mlflow", server.Uri, "--mlflow-experiment", exp);
        Assert.True(r.ExitCode == 0, r.ToString());
        var runs = server.Runs(server.ExperimentId(exp));
        var parent = Assert.Single(runs, x => !RealMlflow.Pairs(x["data"]!["tags"]).ContainsKey("mlflow.parentRunId"));
        Assert.Equal("FINISHED", parent["info"]!["status"]!.GetValue<string>());
        Assert.Equal("slurm", RealMlflow.Pairs(parent["data"]!["tags"])["exprunner.executor"]);
        string parentId = parent["info"]!["run_id"]!.GetValue<string>();
        var children = runs.Where(x => RealMlflow.Pairs(x["data"]!["tags"]).GetValueOrDefault("mlflow.parentRunId") == parentId).ToList();
        Assert.Equal(2, children.Count);
        Assert.All(children, c => Assert.Equal("FINISHED", c["info"]!["status"]!.GetValue<string>()));
    }

    [Fact]
    public void Slurm_trials_learn_their_pruning_from_the_shared_folder_and_a_search_proposes_each_submission()
    {
        RequireSlurm();
        using var dir = new TempDir();
        // One task at a time, in order: trial 0 (lr 1) sets the bar at every rung, trial 1 (lr 1e-4) falls below it at one.
        string pruned = dir.Write("p.yaml", Config.Replace("samples: 300 }", "samples: 300, validation_split: 0.2 }") + "\n" + """
            sweep:
              grid: { training.learning_rate: [1.0, 0.0001] }
              prune: { metric: validation_loss, min_epochs: 1, reduction_factor: 2 }
            """);
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", pruned, "--executor", "slurm", "--partition", "cpu", "--max-parallel", "1", "--runs", "runs");
        Assert.True(r.ExitCode == 0, r.ToString());
        var store = new SweepStore(dir.File("runs"));
        var s = store.Read("latest");
        Assert.Equal([RunStatus.Finished, RunStatus.Pruned], s.Trials.Select(t => t.Status));
        var record = RunFolder.Open(store.RunDirOf(s.Trials[1])!).ReadRecord()!;
        Assert.NotNull(record.Slurm);
        Assert.Matches("^pruned at epoch [1248]: validation_loss ", record.Reason);
        var entries = Asha.Read(store.DirOf(s.Id));
        Assert.Contains(entries, e => e.Trial == 1 && e.Decision == Asha.Pruned && e.RunId == record.Id);

        // A search on Slurm: each wave of proposals is its own submission, --max-parallel trials at a time.
        string search = dir.Write("s.yaml", Config.Replace("samples: 300 }", "samples: 300, validation_split: 0.2 }").Replace("epochs: 10", "epochs: 2") + "\n" + """
            sweep:
              search: { trials: 3, params: { training.learning_rate: { loguniform: [0.01, 1] } }, startup_trials: 1 }
            """);
        var q = ExpRunnerProcess.Run(dir.Path, "sweep", search, "--executor", "slurm", "--partition", "cpu", "--max-parallel", "1", "--runs", "runs");
        Assert.True(q.ExitCode == 0, q.ToString());
        var t = store.Read("latest");
        Assert.Equal(3, t.SlurmJobs!.Count);
        Assert.All(t.Trials, x => Assert.Equal(RunStatus.Finished, x.Status));
        Assert.Equal(3, t.Trials.Select(x => x.Overrides[0]).Distinct().Count());
        Assert.All(t.Trials, x => Assert.StartsWith("training.learning_rate=", x.Overrides[0]));
    }
}
