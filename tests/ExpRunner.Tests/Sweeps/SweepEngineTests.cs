using ExpRunner.Config;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Sweeps;

/// <summary>The sweep engine's state machine, on a test-double executor (trials in memory).</summary>
public class SweepEngineTests
{
    private const string Config = """
        name: eng
        dataset: { name: xor }
        model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        """;

    private static (SweepStore Store, SweepRecord Sweep) NewSweepOf(TempDir dir, int trials)
    {
        string file = dir.Write("eng.yaml", Config);
        var draft = NewSweep.Plan(file, [$"training.epochs=range(1, {trials + 1})"]);
        var store = new SweepStore(dir.File("runs"));
        return (store, draft.Create(store, "local", null, DateTimeOffset.UtcNow));
    }

    private static SweepEngine Engine(SweepStore store, ISweepExecutor executor) => new(store, executor, TimeProvider.System);

    [Fact]
    public async Task A_sweep_runs_every_trial_never_more_at_once_than_the_executor_has_room_for()
    {
        using var dir = new TempDir();
        var (store, sweep) = NewSweepOf(dir, 7);
        var executor = new FakeExecutor(capacity: 3) { PollsToEnd = 2 };
        var result = await Engine(store, executor).RunAsync(sweep.Id, new SweepRunOptions(), CancellationToken.None);
        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal(Enumerable.Range(0, 7), executor.Submitted.Order());
        Assert.Equal(3, executor.MostInFlight);
        Assert.All(result.Trials, t => Assert.Equal((RunStatus.Finished, 1), (t.Status, t.Attempts)));
        Assert.Equal(result.Trials.Select(t => t.Status), store.Read(sweep.Id).Trials.Select(t => t.Status)); // what is on disk
    }

    [Fact]
    public async Task Failures_fail_the_sweep_and_resume_runs_only_the_trials_without_a_result()
    {
        using var dir = new TempDir();
        var (store, sweep) = NewSweepOf(dir, 6);
        var first = new FakeExecutor(2) { Outcome = t => t.Index switch { 1 => RunStatus.Failed, 2 => RunStatus.Diverged, 4 => RunStatus.Killed, _ => RunStatus.Finished } };
        var result = await Engine(store, first).RunAsync(sweep.Id, new SweepRunOptions(), CancellationToken.None);
        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal(new SweepCounts(6, 0, 0, 3, 1, 1, 1, 0), SweepCounts.Of(result.Trials));

        var second = new FakeExecutor(2);
        var resumed = await Engine(store, second).RunAsync(sweep.Id, new SweepRunOptions(), CancellationToken.None);
        Assert.Equal([1, 4], second.Submitted.Order());        // a diverged trial has its result: it stays
        Assert.Equal(RunStatus.Finished, resumed.Status);       // diverged counts as a result
        Assert.Equal(2, resumed.Trials[1].Attempts);
        Assert.Equal(1, resumed.Trials[2].Attempts);
    }

    [Fact]
    public async Task Fail_fast_stops_starting_trials_and_leaves_the_rest_pending()
    {
        using var dir = new TempDir();
        var (store, sweep) = NewSweepOf(dir, 5);
        var executor = new FakeExecutor(1) { Outcome = t => t.Index == 1 ? RunStatus.Failed : RunStatus.Finished };
        var result = await Engine(store, executor).RunAsync(sweep.Id, new SweepRunOptions { FailFast = true }, CancellationToken.None);
        Assert.Equal([0, 1], executor.Submitted);
        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal([RunStatus.Finished, RunStatus.Failed, TrialStatus.Pending, TrialStatus.Pending, TrialStatus.Pending], result.Trials.Select(t => t.Status));
    }

    [Fact]
    public async Task An_interrupt_stops_the_trials_in_flight_as_killed_and_starts_no_more()
    {
        using var dir = new TempDir();
        var (store, sweep) = NewSweepOf(dir, 5);
        using var cancel = new CancellationTokenSource();
        var executor = new FakeExecutor(2) { PollsToEnd = 1000, OnPoll = _ => cancel.Cancel() };
        var result = await Engine(store, executor).RunAsync(sweep.Id, new SweepRunOptions(), cancel.Token);
        Assert.Equal(1, executor.Cancels);
        Assert.Equal(RunStatus.Killed, result.Status);
        Assert.Equal([RunStatus.Killed, RunStatus.Killed, TrialStatus.Pending, TrialStatus.Pending, TrialStatus.Pending], result.Trials.Select(t => t.Status));
    }

    [Fact]
    public async Task A_trial_recorded_running_without_a_handle_was_lost_with_its_sweep_process_and_runs_again()
    {
        using var dir = new TempDir();
        var (store, sweep) = NewSweepOf(dir, 2);
        store.Append(sweep, [new SweepEvent { At = DateTimeOffset.UtcNow, Trial = sweep.Trials[0] with { Status = RunStatus.Running } }]);
        var status = await Engine(store, new FakeExecutor(1)).StatusAsync(sweep.Id);
        Assert.Equal(RunStatus.Crashed, status.Trials[0].Status);
        var executor = new FakeExecutor(1);
        var result = await Engine(store, executor).RunAsync(sweep.Id, new SweepRunOptions(), CancellationToken.None);
        Assert.Equal([0, 1], executor.Submitted);
        Assert.Equal(RunStatus.Finished, result.Status);
    }

    [Fact]
    public async Task A_sweep_being_run_cannot_be_run_a_second_time()
    {
        using var dir = new TempDir();
        var (store, sweep) = NewSweepOf(dir, 2);
        using (store.Lock(sweep.Id))
        {
            var e = await Assert.ThrowsAsync<SweepBusyException>(() => Engine(store, new FakeExecutor(1)).RunAsync(sweep.Id, new SweepRunOptions(), CancellationToken.None));
            Assert.Contains($"pid {Environment.ProcessId} on {Environment.MachineName}", e.Message);
        }
        var result = await Engine(store, new FakeExecutor(1)).RunAsync(sweep.Id, new SweepRunOptions(), CancellationToken.None);
        Assert.Equal(RunStatus.Finished, result.Status); // the lock is released with its holder
    }

    [Fact]
    public async Task State_changes_append_to_the_event_log_instead_of_rewriting_the_sweep_record()
    {
        using var dir = new TempDir();
        var (store, sweep) = NewSweepOf(dir, 300);
        string record = store.PathOf(sweep.Id, SweepStore.RecordFile);
        DateTime? written = null;
        int polls = 0;
        var executor = new FakeExecutor(4)
        {
            OnPoll = _ =>
            {
                polls++;
                written ??= File.GetLastWriteTimeUtc(record);
                Assert.Equal(written, File.GetLastWriteTimeUtc(record));
                var current = store.Read(sweep.Id); // snapshot + log replayed: always the whole truth
                Assert.Equal(300, current.Trials.Count);
            },
        };
        var result = await Engine(store, executor).RunAsync(sweep.Id, new SweepRunOptions(), CancellationToken.None);
        Assert.True(polls >= 75, $"{polls} polls");
        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal(result.Trials.Select(t => (t.Status, t.RunDir)), store.Read(sweep.Id).Trials.Select(t => (t.Status, t.RunDir)));
    }

    [Theory]
    [InlineData(new[] { "FINISHED", "DIVERGED" }, false, "FINISHED")]
    [InlineData(new[] { "FINISHED", "FAILED" }, false, "FAILED")]
    [InlineData(new[] { "FINISHED", "PENDING" }, true, "KILLED")]
    [InlineData(new[] { "FINISHED", "FINISHED" }, true, "FINISHED")]
    [InlineData(new[] { "RUNNING", "FAILED" }, true, "RUNNING")]
    [InlineData(new[] { "CRASHED", "FINISHED" }, false, "FAILED")]
    public void The_sweep_status_follows_from_its_trials(string[] trials, bool interrupted, string expected)
    {
        var records = trials.Select((s, i) => new TrialRecord { Index = i, Status = s, Process = s == "RUNNING" ? new ProcessRef("h", 1, null) : null }).ToList();
        Assert.Equal(expected, SweepStatus.Of(records, interrupted));
    }
}
