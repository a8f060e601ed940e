using ExpRunner.Config;
using ExpRunner.Nn;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Sweeps;

/// <summary>The Tree-structured Parzen Estimator: its densities, its rules, its reproducibility, and that it searches better than chance.</summary>
public class TpeTests
{
    private static readonly RandomParam Lr = new("training.learning_rate", "loguniform", [], 1e-4, 10);

    [Fact]
    public void The_normal_cdf_matches_tabulated_values()
    {
        Assert.Equal(0.5, Parzen.Phi(0), 7);
        Assert.Equal(0.8413447460685429, Parzen.Phi(1), 6);
        Assert.Equal(0.024997895148220435, Parzen.Phi(-1.96), 6);
        Assert.Equal(0.9986501019683699, Parzen.Phi(3), 6);
    }

    [Fact]
    public void Bandwidths_are_the_larger_gap_to_a_neighbour_clipped_and_the_prior_spans_the_range()
    {
        // Sorted with the ends: 0 | 0.2 0.5 0.6 | 1. The outer kernels measure to their inner neighbour only.
        var p = Parzen.Build([0.5, 0.2, 0.6], 0, 1);
        Assert.Equal([0.5, 0.2, 0.6, 0.5], p.Mus);
        // 0.5: max(0.3, 0.1) = 0.3; 0.2: to 0.5 = 0.3; 0.6: to 0.5 = 0.1, clipped up to 1 / min(100, 3 + 2) = 0.2; the prior: 1.
        Assert.Equal([0.3, 0.3, 0.2, 1.0], p.Sigmas.Select(x => Math.Round(x, 12)));
        Assert.Equal([0.25, 0.25, 0.25, 0.25], p.Mix);
    }

    [Fact]
    public void A_density_integrates_to_one_over_its_range()
    {
        foreach (var (obs, low, high) in new (double[], double, double)[] { ([], 0, 1), ([0.01, 0.02, 0.9], 0, 1), ([-9, -8.5, 2], Math.Log(1e-4), Math.Log(10)) })
        {
            var p = Parzen.Build(obs, low, high);
            int n = 20_000; // Simpson's rule
            double h = (high - low) / n, sum = Math.Exp(p.LogPdf(low)) + Math.Exp(p.LogPdf(high));
            for (int i = 1; i < n; i++) sum += (i % 2 == 1 ? 4 : 2) * Math.Exp(p.LogPdf(low + i * h));
            Assert.Equal(1.0, sum * h / 3, 5);
        }
    }

    [Fact]
    public void Samples_stay_in_range_and_follow_the_density()
    {
        var p = Parzen.Build([0.1, 0.12, 0.15], 0, 1);
        var rng = new Rng(7);
        var xs = Enumerable.Range(0, 20_000).Select(_ => p.Sample(rng)).ToList();
        Assert.All(xs, x => Assert.InRange(x, 0, 1));
        // The share below 0.3 against the density's own integral there.
        double h = 0.3 / 3000, mass = 0;
        for (int i = 0; i < 3000; i++) mass += Math.Exp(p.LogPdf((i + 0.5) * h)) * h;
        Assert.Equal(mass, xs.Count(x => x < 0.3) / 20_000.0, 2);
    }

    [Fact]
    public void Old_observations_weigh_less_beyond_25()
    {
        Assert.All(Parzen.Weights(24), w => Assert.Equal(1, w));
        var w = Parzen.Weights(30);
        Assert.Equal(1.0 / 30, w[0], 12);
        Assert.Equal(1.0, w[4], 12);
        Assert.True(w[0] < w[1] && w[1] < w[2] && w[2] < w[3]);
        Assert.All(w.Skip(5), x => Assert.Equal(1, x));
    }

    /// <summary>Observations of f(lr) = (log10 lr + 1)², best at lr = 0.1, as a search would have them.</summary>
    private static Observation Observe(int trial, double lr) =>
        new(trial, new Dictionary<string, double> { [Lr.Key] = Math.Log(lr) }, 0, Math.Pow(Math.Log10(lr) + 1, 2));

    [Fact]
    public void The_same_observations_and_generator_propose_the_same_values()
    {
        var obs = new[] { 0.001, 3.0, 0.05, 0.2, 7.0, 0.0002 }.Select((lr, i) => Observe(i, lr)).ToList();
        var a = TpeProposer.Suggest([Lr], obs, new Rng(11));
        var b = TpeProposer.Suggest([Lr], obs, new Rng(11));
        var c = TpeProposer.Suggest([Lr], obs, new Rng(12));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Tpe_finds_a_better_value_than_random_search_on_average()
    {
        // 20 searches each way on f(lr) = (log10 lr + 1)², 25 trials, the first 5 random.
        double tpe = 0, random = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var rng = new Rng((ulong)seed + 100);
            var obs = new List<Observation>();
            for (int t = 0; t < 25; t++)
            {
                string value = t < 5 ? SweepPlan.Draw(Lr, rng) : TpeProposer.Suggest([Lr], obs, rng)[0];
                obs.Add(Observe(t, double.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));
            }
            tpe += obs.Min(o => o.Score);
            var r = new Rng((ulong)seed + 100);
            random += Enumerable.Range(0, 25).Min(_ => Math.Pow(Math.Log10(double.Parse(SweepPlan.Draw(Lr, r), System.Globalization.CultureInfo.InvariantCulture)) + 1, 2));
        }
        Assert.True(tpe < random / 3, $"mean best: tpe {tpe / 20}, random {random / 20}");
    }

    [Fact]
    public void A_choice_that_keeps_winning_is_proposed_more_often()
    {
        var act = new RandomParam("model.layers.0.activation", "choice", ["relu", "tanh", "sigmoid"], 0, 0);
        var obs = Enumerable.Range(0, 30).Select(i => new Observation(i, new Dictionary<string, double> { [act.Key] = i % 3 }, 0, i % 3 == 1 ? 0.1 : 1.0 + i)).ToList();
        var rng = new Rng(3);
        var picks = Enumerable.Range(0, 200).Select(_ => TpeProposer.Suggest([act], obs, rng)[0]).ToList();
        Assert.True(picks.Count(p => p == "tanh") > 150, string.Join(",", picks.GroupBy(p => p).Select(g => $"{g.Key}:{g.Count()}")));
    }

    [Fact]
    public void Int_values_are_whole_and_in_range()
    {
        var units = new RandomParam("model.layers.0.units", "int", [], 4, 9);
        var obs = new[] { 4, 9, 6, 7 }.Select((u, i) => new Observation(i, new Dictionary<string, double> { [units.Key] = u }, 0, Math.Abs(u - 6))).ToList();
        var rng = new Rng(5);
        for (int i = 0; i < 100; i++) Assert.InRange(int.Parse(TpeProposer.Suggest([units], obs, rng)[0], System.Globalization.CultureInfo.InvariantCulture), 4, 9);
    }

    private const string SearchConfig = """
        name: s
        dataset: { name: xor, validation_split: 0.25 }
        model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { epochs: 3 }
        sweep:
          search: { trials: 6, params: { training.learning_rate: { loguniform: [0.001, 1] } }, metric: validation_loss, startup_trials: 2 }
        """;

    [Fact]
    public async Task Every_trial_gets_its_values_before_it_starts_and_they_are_kept_for_resume()
    {
        using var dir = new TempDir();
        var draft = NewSweep.Plan(dir.Write("s.yaml", SearchConfig), []);
        Assert.Equal(6, draft.Trials.Count);
        var store = new SweepStore(dir.File("runs"));
        var sweep = draft.Create(store, "local", null, DateTimeOffset.UtcNow);
        var submitted = new List<IReadOnlyList<string>>();
        var executor = new FakeExecutor(10) { Outcome = t => { submitted.Add(t.Overrides); return t.Index == 3 ? RunStatus.Killed : RunStatus.Finished; } };
        var proposer = new TpeProposer(store, sweep.Search!, 1);
        var result = await new SweepEngine(store, executor, TimeProvider.System) { Proposer = proposer }
            .RunAsync(sweep.Id, new SweepRunOptions { Parallel = 2 }, CancellationToken.None);
        Assert.Equal(2, executor.MostInFlight);                       // a search keeps few in flight, so proposals see results
        Assert.All(submitted, o => Assert.StartsWith("training.learning_rate=", o[0]));
        Assert.All(submitted, o => Assert.Equal("seed=1", o[^1]));
        Assert.Equal(6, submitted.Select(o => o[0]).Distinct().Count());
        var onDisk = store.Read(sweep.Id);                            // the proposals are in the record, replayed from its log
        Assert.Equal(result.Trials.Select(t => t.Label), onDisk.Trials.Select(t => t.Label));

        var again = new FakeExecutor(10) { Outcome = t => { submitted.Add(t.Overrides); return RunStatus.Finished; } };
        await new SweepEngine(store, again, TimeProvider.System) { Proposer = new TpeProposer(store, sweep.Search!, 1) }
            .RunAsync(sweep.Id, new SweepRunOptions { Parallel = 2 }, CancellationToken.None);
        Assert.Equal([3], again.Submitted);
        Assert.Equal(onDisk.Trials[3].Overrides, submitted[^1]);      // run again with the values it was given
    }

    [Fact]
    public void Trials_proposed_but_without_a_result_count_as_the_worst()
    {
        using var dir = new TempDir();
        var spec = new SearchSpec("tpe", 4, [Lr], "validation_loss", "min", 1, null);
        var proposer = new TpeProposer(new SweepStore(dir.Path), spec, 1);
        TrialRecord T(int i, string status, string? lr) => new()
        {
            Index = i, Status = status, Overrides = lr is null ? ["seed=1"] : [$"{Lr.Key}={lr}", "seed=1"],
        };
        var obs = proposer.Observe([T(0, RunStatus.Running, "0.1"), T(1, TrialStatus.Pending, "0.2"), T(2, TrialStatus.Pending, null), T(3, RunStatus.Diverged, "9")]);
        Assert.Equal([0, 1, 3], obs.Select(o => o.Trial));            // not yet proposed: not an observation
        Assert.All(obs, o => Assert.False(o.HasResult));
        Assert.Equal(Math.Log(0.1), obs[0].Values[Lr.Key], 12);
    }
}
