using ExpRunner.Config;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Sweeps;

/// <summary>Successive halving: the rungs, the rule, the ledger trials decide from, and resuming a pruned sweep.</summary>
public class AshaTests
{
    private static readonly PruneSpec Min3 = new("validation_loss", "min", 1, 3);

    [Theory]
    [InlineData(1, 3, 27, new[] { 1, 3, 9 })]      // the last epoch is never a rung
    [InlineData(1, 3, 10, new[] { 1, 3, 9 })]
    [InlineData(2, 2, 9, new[] { 2, 4, 8 })]
    [InlineData(1, 4, 4, new[] { 1 })]
    [InlineData(3, 3, 3, new int[0])]
    public void Rungs_are_min_epochs_times_the_factor_to_a_power_below_the_last_epoch(int min, int factor, int epochs, int[] rungs)
    {
        var spec = new PruneSpec("validation_loss", "min", min, factor);
        Assert.Equal(rungs, spec.Rungs(epochs));
        for (int k = 0; k < rungs.Length; k++)
        {
            Assert.Equal(k, Asha.RungOf(spec, rungs[k]));
            Assert.Equal(rungs[k], Asha.EpochOf(spec, k));
        }
    }

    [Fact]
    public void A_divergence_between_rungs_belongs_to_the_next_rung()
    {
        Assert.Equal(0, Asha.RungOf(Min3, 1));
        Assert.Equal(1, Asha.RungOf(Min3, 2));
        Assert.Equal(2, Asha.RungOf(Min3, 4));
    }

    [Fact]
    public void The_best_n_over_factor_go_on_and_at_least_one()
    {
        // Alone at a rung, a trial goes on; so does the second if it is the better one.
        Assert.True(Asha.Decide(0.9, [], maximize: false, factor: 3).Promote);
        Assert.False(Asha.Decide(0.9, [0.5], maximize: false, factor: 3).Promote);
        Assert.True(Asha.Decide(0.4, [0.5], maximize: false, factor: 3).Promote);
        // Six at the rung: the best two go on; the third does not.
        double?[] others = [0.1, 0.2, 0.4, 0.5, 0.6];
        var d = Asha.Decide(0.3, others, maximize: false, factor: 3);
        Assert.Equal((false, 6, 2, 0.2), (d.Promote, d.Of, d.Keep, d.Cutoff));
        Assert.True(Asha.Decide(0.15, others, false, 3).Promote);
        // Higher is better for an accuracy.
        Assert.True(Asha.Decide(0.95, [0.9, 0.8, 0.7, 0.6, 0.5], maximize: true, factor: 3).Promote);
        Assert.False(Asha.Decide(0.85, [0.9, 0.95, 0.7, 0.6, 0.5], maximize: true, factor: 3).Promote);
    }

    [Fact]
    public void A_value_tied_with_the_last_that_goes_on_goes_on_too()
    {
        var d = Asha.Decide(0.2, [0.1, 0.2, 0.4, 0.5, 0.6], maximize: false, factor: 3);
        Assert.True(d.Promote);
        Assert.Equal(0.2, d.Cutoff);
        Assert.True(Asha.Decide(0.5, [0.5, 0.5], maximize: true, factor: 2).Promote); // all equal: none is worse
    }

    [Fact]
    public void A_diverged_trial_is_the_worst_at_its_rung()
    {
        // Against a diverged trial (null or NaN), any finite value is better, in either direction.
        Assert.True(Asha.Decide(1e9, [null], maximize: false, factor: 2).Promote);
        Assert.True(Asha.Decide(-1e9, [double.NaN], maximize: true, factor: 2).Promote);
        // Two diverged and two finite at factor 2: the two finite go on, the one behind them too only if tied.
        Assert.True(Asha.Decide(0.7, [null, null, 0.3], maximize: false, factor: 2).Promote);
        Assert.False(Asha.Decide(0.7, [null, 0.2, 0.3], maximize: false, factor: 2).Promote);
    }

    [Fact]
    public void The_ledger_records_each_decision_and_a_resumed_run_gets_its_own_back()
    {
        using var dir = new TempDir();
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(Asha.Continue, Asha.Report(dir.Path, Min3, 0, "run-a", 1, 0.5, now).Decision);
        Assert.Equal(Asha.Pruned, Asha.Report(dir.Path, Min3, 1, "run-b", 1, 0.9, now).Decision);
        var third = Asha.Report(dir.Path, Min3, 2, "run-c", 1, 0.1, now);
        Assert.Equal((Asha.Continue, 3, 1), (third.Decision, third.Of, third.Keep));
        // Trial 1 resumed (same run) asks again: the same answer, no second entry.
        var again = Asha.Report(dir.Path, Min3, 1, "run-b", 1, 0.01, now);
        Assert.Equal(Asha.Pruned, again.Decision);
        Assert.Equal(3, File.ReadAllLines(dir.File(Asha.LedgerFile)).Length);
        // Trial 1 started again from scratch (a new run): decided anew, replacing its own entry rather than competing with it.
        var fresh = Asha.Report(dir.Path, Min3, 1, "run-b2", 1, 0.05, now);
        Assert.Equal((Asha.Continue, 3), (fresh.Decision, fresh.Of));
        Assert.Equal(3, Asha.Read(dir.Path).Count);
    }

    [Fact]
    public void A_ledger_cut_short_by_a_crash_loses_only_its_cut_line_and_the_next_decision_starts_a_line_of_its_own()
    {
        using var dir = new TempDir();
        var now = DateTimeOffset.UtcNow;
        Asha.Report(dir.Path, Min3, 0, "run-a", 1, 0.5, now);
        Asha.Report(dir.Path, Min3, 1, "run-b", 1, 0.4, now);
        string ledger = dir.File(Asha.LedgerFile);
        string whole = File.ReadAllText(ledger);
        File.WriteAllText(ledger, whole + whole.Split('\n')[1][..25]); // a third entry cut by kill -9 mid-write
        Assert.Equal(2, Asha.Read(dir.Path, out bool cut).Count);
        Assert.True(cut);

        var next = Asha.Report(dir.Path, Min3, 2, "run-c", 1, 0.3, now);
        Assert.Equal((Asha.Continue, 3), (next.Decision, next.Of));
        Assert.Equal(3, Asha.Read(dir.Path, out cut).Count);
        Assert.False(cut);
        Assert.Equal(3, File.ReadAllLines(ledger).Length);
        for (int trial = 3; trial < 6; trial++) Asha.Report(dir.Path, Min3, trial, $"run-{trial}", 1, 0.1 * trial, now);
        Assert.Equal(6, Asha.Read(dir.Path).Count);
    }

    [Fact]
    public void A_damaged_line_inside_the_ledger_is_reported_with_its_file_and_line()
    {
        using var dir = new TempDir();
        var now = DateTimeOffset.UtcNow;
        for (int trial = 0; trial < 3; trial++) Asha.Report(dir.Path, Min3, trial, $"run-{trial}", 1, 0.1 * trial, now);
        string ledger = dir.File(Asha.LedgerFile);
        var lines = File.ReadAllLines(ledger);
        lines[1] = "garbage}{";
        File.WriteAllText(ledger, string.Join("\n", lines) + "\n");
        var e = Assert.Throws<InvalidDataException>(() => Asha.Read(dir.Path));
        Assert.StartsWith($"{ledger}:2: not a rung entry", e.Message);
        Assert.Throws<InvalidDataException>(() => Asha.Report(dir.Path, Min3, 4, "run-4", 1, 0.5, now));
        Assert.Equal(3, File.ReadAllLines(ledger).Length); // nothing appended to a ledger that cannot be read
    }

    [Fact]
    public void A_divergence_is_recorded_as_the_worst_at_the_rung_the_trial_did_not_reach()
    {
        using var dir = new TempDir();
        var pruner = new TrialPruner(dir.Path, Min3, 4, TimeProvider.System) { RunId = "run-d" };
        pruner.Diverged(epoch: 2, epochs: 27);
        var entry = Assert.Single(Asha.Read(dir.Path));
        Assert.Equal((4, 1, 3, (double?)null, Asha.Diverged), (entry.Trial, entry.Rung, entry.Epoch, entry.Value, entry.Decision));
        pruner.Diverged(epoch: 2, epochs: 27); // reported once
        Assert.Single(Asha.Read(dir.Path));
        // The next trial at rung 1 with any value beats it: with factor 3 and two at the rung, one goes on — this one.
        Assert.Equal(Asha.Continue, Asha.Report(dir.Path, Min3, 5, "run-e", 3, 123.0, DateTimeOffset.UtcNow).Decision);
        // Beyond the last rung a divergence competes with no one.
        new TrialPruner(dir.Path, Min3, 6, TimeProvider.System) { RunId = "run-f" }.Diverged(epoch: 20, epochs: 27);
        Assert.Equal(2, Asha.Read(dir.Path).Count);
    }

    [Fact]
    public void Trials_deciding_at_once_from_several_processes_each_see_the_others_entries()
    {
        using var dir = new TempDir();
        // 40 trials report at rung 0 concurrently: the ledger must hold 40 entries, each decided against all the entries before it.
        Parallel.For(0, 40, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            Asha.Report(dir.Path, Min3, i, $"run-{i}", 1, i / 100.0, DateTimeOffset.UtcNow));
        var lines = File.ReadAllLines(dir.File(Asha.LedgerFile)).Select(l => System.Text.Json.JsonSerializer.Deserialize<RungEntry>(l, IO.Json.Compact)!).ToList();
        Assert.Equal(40, lines.Count);
        Assert.Equal(Enumerable.Range(1, 40), lines.Select(e => e.Of)); // in file order, each saw every one before it
    }

    [Fact]
    public async Task Resuming_a_pruned_sweep_runs_only_what_has_no_result_and_keeps_pruned_trials()
    {
        using var dir = new TempDir();
        string file = dir.Write("p.yaml", """
            name: p
            dataset: { name: xor, validation_split: 0.25 }
            model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { epochs: 9 }
            sweep:
              grid: { training.learning_rate: [0.1, 0.2, 0.3, 0.4] }
              prune: { metric: validation_loss, min_epochs: 1, reduction_factor: 3 }
            """);
        var draft = NewSweep.Plan(file, []);
        var store = new SweepStore(dir.File("runs"));
        var sweep = draft.Create(store, "local", null, DateTimeOffset.UtcNow);
        Assert.Equal(Min3, sweep.Prune);
        var first = new FakeExecutor(2) { Outcome = t => t.Index switch { 0 => RunStatus.Pruned, 1 => RunStatus.Killed, 2 => RunStatus.Pruned, _ => RunStatus.Finished } };
        var result = await new SweepEngine(store, first, TimeProvider.System).RunAsync(sweep.Id, new SweepRunOptions(), CancellationToken.None);
        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal(2, SweepCounts.Of(result.Trials).Pruned);
        Assert.Equal("1 FINISHED, 2 PRUNED, 1 KILLED", SweepCounts.Of(result.Trials).ToString());

        var second = new FakeExecutor(2);
        var resumed = await new SweepEngine(store, second, TimeProvider.System).RunAsync(sweep.Id, new SweepRunOptions(), CancellationToken.None);
        Assert.Equal([1], second.Submitted);               // the pruned trials have their result
        Assert.Equal(RunStatus.Finished, resumed.Status);   // pruned counts as a result
        Assert.Equal([RunStatus.Pruned, RunStatus.Finished, RunStatus.Pruned, RunStatus.Finished], resumed.Trials.Select(t => t.Status));
    }
}
