using ExpRunner.Cli.Ui;
using ExpRunner.Compare;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Ui;

/// <summary>What the UI's pages read while work runs: a running run's params, data read where the run ran, failures not cached.</summary>
public class UiLiveDataTests
{
    [Fact]
    public void A_run_without_a_summary_yet_has_its_params_from_its_config()
    {
        using var dir = new TempDir();
        var folder = RunFolder.Create(dir.Path, "live", DateTimeOffset.UtcNow);
        File.WriteAllText(folder.PathOf(RunFolder.ConfigFile), """
            name: live
            dataset: xor
            model: { layers: [ { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { learning_rate: 0.25 }
            """);
        folder.WriteRecord(new RunRecord { Id = folder.Id, Experiment = "live", Status = RunStatus.Running, Started = DateTimeOffset.UtcNow, Host = Environment.MachineName, Pid = Environment.ProcessId });
        var row = RunRow.Read(folder)!;
        Assert.Equal("0.25", row.Params["training.learning_rate"]);
        Assert.True(Filter.Parse("params.training.learning_rate = '0.25'").Matches(row)); // a filter on params finds it
    }

    [Fact]
    public void A_run_with_a_relative_data_path_is_evaluated_from_where_it_ran_and_a_failure_is_not_kept()
    {
        Repo.Data("mnist");
        using var dir = new TempDir();
        // Trained from the project's folder with dataset.path=data/mnist (relative), in a process of its own.
        var r = ExpRunnerProcess.Run(Repo.Root, "run", "experiments/mnist-sgd.yaml", "--runs", dir.File("runs"), "--set", "dataset.path=data/mnist", "--set", "training.epochs=1", "-q");
        Assert.True(r.ExitCode == 0, r.ToString());
        var folder = RunFolder.Open(Directory.GetDirectories(dir.File("runs/mnist-sgd")).Single());
        Assert.Equal(Repo.Root, folder.ReadRecord()!.WorkingDirectory);
        var api = new UiApi(new UiData(dir.File("runs"), dir.File("cache"), TimeProvider.System));
        string json = UiApi.Text(api.Evaluation(folder.Id));
        Assert.Contains("\"accuracy\"", json);

        // Where the data is gone, the reason — and once it is back, the evaluation (nothing failed is kept).
        var moved = RunFolder.Open(Directory.GetDirectories(dir.File("runs/mnist-sgd")).Single());
        var record = moved.ReadRecord()!;
        moved.WriteRecord(record with { WorkingDirectory = dir.File("nowhere") });
        File.WriteAllText(moved.PathOf(RunFolder.ConfigFile), File.ReadAllText(moved.PathOf(RunFolder.ConfigFile)).Replace("path: data/mnist", "path: data/missing"));
        File.SetLastWriteTimeUtc(moved.PathOf(RunFolder.WeightsFile), DateTime.UtcNow.AddMinutes(1)); // a new cache key
        var failed = Assert.Throws<UiRequestException>(() => api.Evaluation(moved.Id));
        Assert.Equal(422, failed.Status);
        Assert.Contains("data not found", failed.Message);
        File.WriteAllText(moved.PathOf(RunFolder.ConfigFile), File.ReadAllText(moved.PathOf(RunFolder.ConfigFile)).Replace("path: data/missing", $"path: {Path.Combine(Repo.Root, "data", "mnist")}"));
        Assert.Contains("\"accuracy\"", UiApi.Text(api.Evaluation(moved.Id)));
    }

    [Fact]
    public void Groups_are_computed_once_per_change_not_once_per_poll()
    {
        using var dir = new TempDir();
        for (int i = 0; i < 6; i++) ExpRunner.Tests.Compare.RunIndexTests.MakeRun(dir.File("runs"), "g", i);
        var data = new UiData(dir.File("runs"), dir.File("cache"), TimeProvider.System);
        var query = new RunsQuery(null, null, false, ["training.learning_rate"]);
        var first = data.Groups(query);
        for (int poll = 0; poll < 5; poll++) Assert.Same(first.Comparison, data.Groups(query).Comparison);
        Assert.Equal(1, data.Groupings);
        data.Groups(query with { GroupBy = ["seed"] }); // another grouping is computed
        Assert.Equal(2, data.Groupings);
        ExpRunner.Tests.Compare.RunIndexTests.MakeRun(dir.File("runs"), "g", 7); // a new run: computed again once seen
        data.Fresh();
        Assert.Equal(7, data.Groups(query).Total);
        Assert.Equal(3, data.Groupings);
    }
}
