using System.Text.Json.Nodes;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;
using ExpRunner.Tracking.Mlflow;

namespace ExpRunner.Tests.Tracking;

/// <summary>
/// The MLflow mirror against a real MLflow tracking server (2.10.2, SQLite store, proxied
/// artifacts), read back through its REST API. The in-process fake (MlflowTests) covers what a real
/// server cannot be made to do on demand: 5xx, 429, timeouts, dying mid-request.
/// </summary>
public class MlflowServerTests
{
    private const string Xor = """
        name: xor-real
        seed: 3
        dataset: { name: xor, samples: 200 }
        model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 20, epochs: 25 }
        """;

    private static string Experiment() => "t-" + Guid.NewGuid().ToString("N")[..10];

    private static RunFolder OnlyRun(string runs, string experiment = "xor-real") => RunFolder.Open(Directory.GetDirectories(Path.Combine(runs, experiment)).Single());

    [Fact]
    public void A_run_arrives_with_its_params_full_metric_history_tags_and_files()
    {
        using var server = RealMlflow.Plain();
        using var dir = new TempDir();
        string exp = Experiment();
        var r = ExpRunnerProcess.Run(dir.Path, "run", dir.Write("x.yaml", Xor + "\nprobes: { every_steps: 2 }\n"), "-q", "--mlflow", server.Uri, "--mlflow-experiment", exp);
        Assert.True(r.ExitCode == 0, r.ToString());
        var folder = OnlyRun(dir.File("runs"));
        var state = MlflowState.Read(folder)!;
        Assert.True(state.Complete, $"{state.Error}: {string.Join("; ", state.Missing)}");
        var run = server.Run(state.RunId!);
        var info = run["info"]!;
        Assert.Equal("FINISHED", info["status"]!.GetValue<string>());
        Assert.Equal(Environment.UserName, info["user_id"]!.GetValue<string>());
        Assert.Equal(folder.ReadRecord()!.Ended!.Value.ToUnixTimeMilliseconds(), info["end_time"]!.GetValue<long>());
        var parameters = RealMlflow.Pairs(run["data"]!["params"]);
        Assert.Equal("0.5", parameters["training.learning_rate"]);
        Assert.Equal("4", parameters["model.layers.0.units"]);
        var tags = RealMlflow.Pairs(run["data"]!["tags"]);
        Assert.Equal(folder.Id, tags["exprunner.run_id"]);
        Assert.Equal(dir.File("x.yaml"), tags["mlflow.source.name"]);
        var local = folder.ReadMetrics().Where(m => m.Split == "test").Select(m => (m.Epoch, m.Accuracy, m.TimestampMs)).ToList();
        Assert.Equal(local, server.History(state.RunId!, "test_accuracy").OrderBy(h => h.Step).Select(h => ((int)h.Step, h.Value, h.Timestamp)));
        Assert.NotEmpty(server.History(state.RunId!, "system/system_memory_usage_megabytes")); // CPU use needs ticks a short run may not see
        // Every training step, live: the batch's loss at the step's number, as steps.csv.gz holds it.
        var steps = StepLog.Read(folder.PathOf(StepLog.File));
        Assert.Equal(steps.Select(x => (x.Step, x.Loss)), server.History(state.RunId!, "batch_loss").OrderBy(h => h.Step).Select(h => (h.Step, h.Value)));
        // And every probe at the probed steps, under its column's name.
        var record = StepLog.ReadRecord(folder.PathOf(StepLog.File));
        int ratio = record.ProbeColumns.ToList().IndexOf("layer0.weight.update_ratio");
        Assert.True(ratio >= 0, string.Join(",", record.ProbeColumns));
        var probed = record.Steps.Where(x => x.Probes is not null).Select(x => (x.Step, x.Probes![ratio])).ToList();
        Assert.Equal(record.Steps.Count / 2, probed.Count);
        Assert.Equal(probed, server.History(state.RunId!, "layer0.weight.update_ratio").OrderBy(h => h.Step).Select(h => (h.Step, h.Value)));
        Assert.Equal(steps.Count, server.History(state.RunId!, "learning_rate").Count);
        foreach (var file in new[] { RunFolder.RecordFile, RunFolder.MetricsFile, RunFolder.WeightsFile, RunFolder.SummaryFile, RunFolder.SystemFile })
            Assert.Equal(File.ReadAllBytes(folder.PathOf(file)), server.Artifact(run, file));
    }

    [Fact]
    public void A_run_of_fifty_thousand_short_epochs_ends_finished_on_the_server_with_every_step()
    {
        using var server = RealMlflow.Plain();
        using var dir = new TempDir();
        var r = ExpRunnerProcess.Run(Repo.Root, "run", Repo.Experiments("gaussian-quantiles.yaml"), "-q", "--runs", dir.File("runs"),
            "--mlflow", server.Uri, "--mlflow-experiment", Experiment());
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("WRN", r.Stderr); // no warning: the mirror kept up
        var folder = OnlyRun(dir.File("runs"), "gaussian-quantiles");
        var state = MlflowState.Read(folder)!;
        Assert.True(state.Complete, $"{state.Error}: {string.Join("; ", state.Missing)}");
        Assert.Equal("FINISHED", server.Run(state.RunId!)["info"]!["status"]!.GetValue<string>());
        foreach (var key in new[] { "train_loss", "train_accuracy", "test_loss", "test_accuracy" })
            Assert.Equal(Enumerable.Range(1, 50_000).Select(i => (long)i), server.History(state.RunId!, key).Select(h => h.Step).Order());
    }

    [Fact]
    public void A_sweep_is_a_parent_run_with_its_trials_as_children_and_a_resume_keeps_the_parent()
    {
        using var server = RealMlflow.Plain();
        using var dir = new TempDir();
        string exp = Experiment();
        string config = dir.Write("x.yaml", Xor);
        dir.Write("d.csv", "a,b,label\n1,2,0\n3,4\n");
        var first = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--set", "dataset={name: xor, samples: 200},{name: csv, path: d.csv}", "--mlflow", server.Uri, "--mlflow-experiment", exp);
        Assert.True(first.ExitCode == 1, first.ToString()); // the csv trial fails: d.csv's second row is short
        string experimentId = server.ExperimentId(exp);
        JsonNode Parent() => Assert.Single(server.Runs(experimentId), r => RealMlflow.Pairs(r["data"]!["tags"]) is var t
            && t.ContainsKey("exprunner.sweep_id") && !t.ContainsKey("mlflow.parentRunId"));
        Assert.Equal("FAILED", Parent()["info"]!["status"]!.GetValue<string>());

        dir.Write("d.csv", "a,b,label\n" + string.Join("\n", Enumerable.Range(0, 40).Select(i => $"{i % 5},{i % 3},{i % 2}")) + "\n");
        var resumed = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", "latest");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var parent = Parent(); // still one parent
        string parentId = parent["info"]!["run_id"]!.GetValue<string>();
        Assert.Equal("FINISHED", parent["info"]!["status"]!.GetValue<string>());
        var parentParams = RealMlflow.Pairs(parent["data"]!["params"]);
        Assert.Equal("dataset", parentParams["sweep.swept_keys"]); // the dataset group, swept whole
        Assert.Equal("2", parentParams["sweep.trials"]);
        var finished = server.History(parentId, "trials_finished").OrderBy(h => h.Step).ToList();
        Assert.Equal([1L, 2L, 3L], finished.Select(h => h.Step)); // the step counts trial endings, across the resume
        Assert.Equal(2.0, finished[^1].Value);
        Assert.Contains(server.History(parentId, "best_test_accuracy"), h => h.Value > 0);
        var children = server.Runs(experimentId).Where(r => RealMlflow.Pairs(r["data"]!["tags"]).GetValueOrDefault("mlflow.parentRunId") == parentId).ToList();
        Assert.Equal(2, children.Count);
        var store = new SweepStore(dir.File("runs"));
        Assert.Equal(store.Read("latest").Trials.Select(t => t.RunId).Order(), children.Select(c => RealMlflow.Pairs(c["data"]!["tags"])["exprunner.run_id"]).Order());
    }

    [Fact]
    public void Trials_trained_together_are_each_their_own_child_run_with_their_own_params_and_every_epoch()
    {
        using var server = RealMlflow.Plain();
        using var dir = new TempDir();
        string exp = Experiment();
        string config = dir.Write("x.yaml", Xor);
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", config, "--set", "training.learning_rate=0.1,0.3,0.5", "--jobs", "1", "--mlflow", server.Uri, "--mlflow-experiment", exp);
        Assert.True(r.ExitCode == 0, r.ToString());
        var sweep = new SweepStore(dir.File("runs")).Read("latest");
        Assert.Single(sweep.Trials.Select(t => t.Process!.Pid).Distinct()); // one group, one process
        string experimentId = server.ExperimentId(exp);
        var runs = server.Runs(experimentId);
        string parentId = Assert.Single(runs, x => !RealMlflow.Pairs(x["data"]!["tags"]).ContainsKey("mlflow.parentRunId"))["info"]!["run_id"]!.GetValue<string>();
        var children = runs.Where(x => RealMlflow.Pairs(x["data"]!["tags"]).GetValueOrDefault("mlflow.parentRunId") == parentId).ToList();
        Assert.Equal(3, children.Count);
        foreach (var t in sweep.Trials)
        {
            var child = Assert.Single(children, c => RealMlflow.Pairs(c["data"]!["tags"])["exprunner.run_id"] == t.RunId);
            Assert.Equal("FINISHED", child["info"]!["status"]!.GetValue<string>());
            Assert.Equal(t.Overrides.Single(o => o.StartsWith("training.learning_rate=", StringComparison.Ordinal)).Split('=')[1],
                RealMlflow.Pairs(child["data"]!["params"])["training.learning_rate"]);
            // Every epoch's metric, as its run folder has it.
            var folder = RunFolder.Open(Path.Combine(dir.File("runs"), t.RunDir!));
            var local = folder.ReadMetrics().Where(m => m.Split == "test").Select(m => (long)m.Epoch).ToList();
            Assert.Equal(local, server.History(child["info"]!["run_id"]!.GetValue<string>(), "test_accuracy").Select(h => h.Step).Order());
        }
    }

    [Fact]
    public void An_outage_mid_run_then_push_twice_completes_the_run_without_duplicates()
    {
        using var own = new RealMlflow.Own("outage-" + Guid.NewGuid().ToString("N")[..6]);
        using var server = new RealMlflow(own.Uri);
        using var dir = new TempDir();
        string exp = Experiment();
        using var p = ExpRunnerProcess.Start(dir.Path, null, "run", dir.Write("x.yaml", Xor.Replace("epochs: 25", "epochs: 1000000")), "-q",
            "--mlflow", own.Uri, "--mlflow-experiment", exp);
        RunFolder? folder = null;
        // The experiment's folder appears a moment before the run's folder inside it.
        Eventually.Reach(() => Directory.Exists(dir.File("runs/xor-real")) && Directory.GetDirectories(dir.File("runs/xor-real")).Length == 1 && (folder = OnlyRun(dir.File("runs"))) is not null
            && MlflowState.Read(folder)?.RunId is not null && folder.ReadMetrics().Count > 20, "the run mirrored and training");
        own.Stop();                                        // the outage
        Eventually.Reach(() => folder!.ReadMetrics().Count > 200, "the run training on without its server");
        System.Diagnostics.Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit(); // the run ends KILLED, its mirror cut off
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 130, r.ToString());
        Assert.False(MlflowState.Read(folder!)!.Complete);

        own.Start();                                       // the server is back, with what it had
        foreach (int round in new[] { 1, 2 })
        {
            var push = ExpRunnerProcess.Run(dir.Path, "mlflow", "push", folder!.Dir + "/", "--mlflow", own.Uri);
            Assert.True(push.ExitCode == 0, push.ToString());
            Assert.StartsWith($"{folder.Id}: updated MLflow run", push.Stdout);
            if (round == 2) Assert.Contains(" 0 params, 0 metric values,", push.Stdout);
        }
        string runId = MlflowState.Read(folder!)!.RunId!;
        int epochs = folder!.ReadMetrics().Max(m => m.Epoch);
        var history = server.History(runId, "train_loss");
        Assert.Equal(epochs, history.Count);
        Assert.Equal(history.Count, history.Select(h => h.Step).Distinct().Count());
        var batches = server.History(runId, "batch_loss"); // every step, mirrored or pushed, once
        Assert.Equal(StepLog.Read(folder.PathOf(StepLog.File)).Select(x => x.Step), batches.Select(h => h.Step).Order());
        var only = Assert.Single(server.Runs(server.ExperimentId(exp)));
        Assert.Equal("KILLED", only["info"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public void Basic_auth_of_mlflows_auth_app_is_used_and_a_wrong_password_is_reported_once_and_kept_nowhere()
    {
        using var admin = RealMlflow.Admin();
        using var dir = new TempDir();
        string exp = Experiment();
        var good = ExpRunnerProcess.Run(dir.Path, new Dictionary<string, string> { ["MLFLOW_TRACKING_USERNAME"] = "admin", ["MLFLOW_TRACKING_PASSWORD"] = "exprunner-test-pw" },
            "run", dir.Write("x.yaml", Xor), "-q", "--runs", dir.File("good"), "--mlflow", RealMlflow.AuthUri, "--mlflow-experiment", exp);
        Assert.True(good.ExitCode == 0, good.ToString());
        var state = MlflowState.Read(OnlyRun(dir.File("good")))!;
        Assert.True(state.Complete, $"{state.Error}: {string.Join("; ", state.Missing)}");
        Assert.Equal("FINISHED", admin.Run(state.RunId!)["info"]!["status"]!.GetValue<string>());

        var bad = ExpRunnerProcess.Run(dir.Path, new Dictionary<string, string> { ["MLFLOW_TRACKING_USERNAME"] = "admin", ["MLFLOW_TRACKING_PASSWORD"] = "wrong-pw-123" },
            "run", dir.File("x.yaml"), "-q", "--runs", dir.File("bad"), "--mlflow", RealMlflow.AuthUri, "--mlflow-experiment", exp);
        Assert.True(bad.ExitCode == 0, bad.ToString());       // training does not depend on the mirror
        var warnings = bad.Stderr.Split('\n').Where(l => l.Contains("WRN")).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains("401", warning);
        Assert.DoesNotContain("  ", warning.Trim());
        Assert.DoesNotContain("..", warning);
        foreach (var file in Directory.GetFiles(OnlyRun(dir.File("bad")).Dir).Concat(Directory.GetFiles(OnlyRun(dir.File("good")).Dir)))
        {
            string text = File.ReadAllText(file);
            Assert.DoesNotContain("exprunner-test-pw", text);
            Assert.DoesNotContain("wrong-pw-123", text);
        }
    }

    [Fact]
    public void A_runs_label_tags_and_note_reach_mlflow_and_a_push_keeps_them_in_step()
    {
        using var server = RealMlflow.Plain();
        using var dir = new TempDir();
        string exp = Experiment();
        var r = ExpRunnerProcess.Run(dir.Path, "run", dir.Write("x.yaml", Xor), "-q", "--mlflow", server.Uri, "--mlflow-experiment", exp,
            "--label", "first try", "--tag", "stage=baseline", "--tag", "owner=ana");
        Assert.True(r.ExitCode == 0, r.ToString());
        var folder = OnlyRun(dir.File("runs"));
        string runId = MlflowState.Read(folder)!.RunId!;
        var tags = RealMlflow.Pairs(server.Run(runId)["data"]!["tags"]);
        Assert.Equal(("baseline", "ana", "first try", "first try"), (tags["stage"], tags["owner"], tags["mlflow.runName"], tags["exprunner.label"]));
        // Changed afterwards: a tag removed, one changed, a note written, the label cleared; a push brings the server in step.
        Assert.Equal(0, ExpRunnerProcess.Run(dir.Path, "tag", folder.Id, "stage=candidate", "--remove", "owner").ExitCode);
        Assert.Equal(0, ExpRunnerProcess.Run(dir.Path, "note", folder.Id, "lr *too* high?").ExitCode);
        Assert.Equal(0, ExpRunnerProcess.Run(dir.Path, "label", folder.Id, "--clear").ExitCode);
        var push = ExpRunnerProcess.Run(dir.Path, "mlflow", "push", folder.Dir, "--mlflow", server.Uri);
        Assert.True(push.ExitCode == 0, push.ToString());
        tags = RealMlflow.Pairs(server.Run(runId)["data"]!["tags"]);
        Assert.Equal("candidate", tags["stage"]);
        Assert.False(tags.ContainsKey("owner"), string.Join(", ", tags.Keys));
        Assert.Equal("lr *too* high?", tags["mlflow.note.content"]);
        Assert.False(tags.ContainsKey("exprunner.label"));
        Assert.Equal(folder.Id, tags["mlflow.runName"]);
    }
}
