using System.Diagnostics;
using ExpRunner.Config;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Sweeps;

/// <summary>Creating a sweep (read once, counted before expanded, checked) and keeping its record.</summary>
public class SweepStoreTests
{
    private const string Config = """
        name: st
        dataset: { name: xor }
        model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        """;

    [Fact]
    public void A_huge_grid_is_refused_by_its_count_before_anything_is_expanded()
    {
        using var dir = new TempDir();
        string file = dir.Write("st.yaml", Config);
        var e = Assert.Throws<ConfigException>(() => NewSweep.Plan(file, ["training.epochs=range(1, 10001)", "training.batch_size=range(1, 10001)"]));
        Assert.Equal("--set sweep: 100,000,000 trials (10000 × 10000); a sweep may have at most 100,000 (--max-trials raises the limit)", e.Errors.Single().ToString());
        var inConfig = dir.Write("grid.yaml", Config + "\nsweep:\n  grid: { training.epochs: 'range(1, 1001)', seed: 'range(0, 1000)' }\n  repeats: 3\n");
        var e2 = Assert.Throws<ConfigException>(() => NewSweep.Plan(inConfig, []));
        Assert.StartsWith($"{inConfig}:6:3 sweep: 3,000,000 trials (1000 × 1000 × 3 repeats)", e2.Errors.Single().ToString());
        Assert.Equal(600, NewSweep.Plan(file, ["training.epochs=range(1, 31)", "training.batch_size=range(1, 21)"], maxTrials: 600).Trials.Count);
    }

    [Fact]
    public async Task A_config_given_through_a_pipe_is_read_once()
    {
        using var dir = new TempDir();
        string fifo = dir.File("config.pipe");
        using (var mk = Process.Start("mkfifo", [fifo])!) mk.WaitForExit();
        var ct = TestContext.Current.CancellationToken;
        var writer = Task.Run(() => File.WriteAllText(fifo, Config), ct); // one writer: a second read would wait forever
        // Planning reads, parses and checks every trial; a second read of the pipe would never end (TimeoutException).
        var draft = await Task.Run(() => NewSweep.Plan(fifo, ["training.learning_rate=0.1,0.2"]), ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.Equal(2, draft.Trials.Count);
        var sweep = draft.Create(new SweepStore(dir.File("runs")), "local", null, DateTimeOffset.UtcNow);
        Assert.Equal(Config, File.ReadAllText(new SweepStore(dir.File("runs")).PathOf(sweep.Id, SweepStore.ConfigFile)));
        await writer;
    }

    [Fact]
    public void Every_distinct_trial_config_is_checked_and_each_error_named_once()
    {
        using var dir = new TempDir();
        string file = dir.Write("st.yaml", Config + "\nsweep: { repeats: 3 }\n");
        var e = Assert.Throws<ConfigException>(() => NewSweep.Plan(file, ["training.batch_size=4,0,-1"]));
        Assert.Equal(2, e.Errors.Count);
        Assert.Contains("(trial 3: training.batch_size=0 seed=1)", e.Errors[0].Message);
        Assert.Contains("(trial 6: training.batch_size=-1 seed=1)", e.Errors[1].Message);
    }

    [Fact]
    public void Run_folders_are_kept_relative_to_the_runs_directory_so_it_can_move()
    {
        using var dir = new TempDir();
        var store = new SweepStore(dir.File("runs"));
        var sweep = NewSweep.Plan(dir.Write("st.yaml", Config), ["seed=1,2"]).Create(store, "local", null, DateTimeOffset.UtcNow);
        string run = Path.Combine(dir.File("runs"), "st", "20261125-000000-abcdef");
        store.Append(sweep, [new SweepEvent { Trial = sweep.Trials[0] with { Status = RunStatus.Finished, RunDir = store.Relative(run) } }]);
        Assert.Equal(Path.Combine("st", "20261125-000000-abcdef"), store.Read(sweep.Id).Trials[0].RunDir);
        Directory.Move(dir.File("runs"), dir.File("moved"));
        var moved = new SweepStore(dir.File("moved"));
        Assert.Equal(Path.Combine(dir.File("moved"), "st", "20261125-000000-abcdef"), moved.RunDirOf(moved.Read("latest").Trials[0]));
    }

    [Fact]
    public void A_log_line_cut_short_by_a_crash_is_skipped_and_a_corrupt_record_is_named()
    {
        using var dir = new TempDir();
        var store = new SweepStore(dir.File("runs"));
        var sweep = NewSweep.Plan(dir.Write("st.yaml", Config), ["seed=1,2"]).Create(store, "local", null, DateTimeOffset.UtcNow);
        store.Append(sweep, [new SweepEvent { Trial = sweep.Trials[1] with { Status = RunStatus.Failed, Reason = "boom" } }]);
        string log = store.PathOf(sweep.Id, sweep.Log!);
        File.AppendAllText(log, "{\"trial\":{\"index\":0,\"sta");
        var read = store.Read(sweep.Id);
        Assert.Equal([TrialStatus.Pending, RunStatus.Failed], read.Trials.Select(t => t.Status));
        // The next event starts a line of its own: the cut one is dropped, not merged into it.
        store.Append(sweep, [new SweepEvent { Trial = sweep.Trials[0] with { Status = RunStatus.Finished } }]);
        Assert.Equal([RunStatus.Finished, RunStatus.Failed], store.Read(sweep.Id).Trials.Select(t => t.Status));
        Assert.Equal(2, File.ReadAllLines(log).Length);

        File.WriteAllText(log, "not json\n" + File.ReadAllText(log));
        Assert.Contains($"{log}:1: not a sweep event", Assert.Throws<InvalidDataException>(() => store.Read(sweep.Id)).Message);
        File.WriteAllText(store.PathOf(sweep.Id, SweepStore.RecordFile), "{ \"id\": ");
        Assert.StartsWith($"{store.PathOf(sweep.Id, SweepStore.RecordFile)}: not a readable sweep record", Assert.Throws<InvalidDataException>(() => store.Read(sweep.Id)).Message);
    }
}
