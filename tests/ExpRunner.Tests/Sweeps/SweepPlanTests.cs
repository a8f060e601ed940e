using ExpRunner.Config;
using ExpRunner.Sweeps;

namespace ExpRunner.Tests.Sweeps;

public class SweepPlanTests
{
    private const string Base = """
        dataset: { name: xor }
        model: { layers: [{ units: 1, activation: sigmoid }] }
        loss: bce
        seed: 7
        """;

    private static SweepSpec Spec(string sweep) => ConfigLoader.Parse(Base + "\nsweep:\n" + sweep, "s.yaml").Config.Sweep;

    [Fact]
    public void A_grid_is_the_cartesian_product_with_repeats_inside_each_point()
    {
        var spec = Spec("  grid:\n    training.gradient_reduction: [mean, sum]\n    training.learning_rate: [0.01, 1.0]\n  repeats: 3");
        var trials = SweepPlan.Expand(spec, 7);
        Assert.Equal(12, trials.Count);
        Assert.Equal(["training.gradient_reduction=mean", "training.learning_rate=0.01", "seed=7"], trials[0].Overrides);
        Assert.Equal(["training.gradient_reduction=sum", "training.learning_rate=1.0"], trials[11].Overrides.Take(2));
        Assert.Equal(3, trials.Select(t => t.Seed).Distinct().Count());
        Assert.Equal(trials[0].Seed, trials[3].Seed); // every point uses the same repeat seeds
        Assert.Equal(7, trials[0].Seed);              // repeat 0 keeps the config's seed
    }

    [Fact]
    public void Zipped_lists_pair_by_position_and_must_have_equal_length()
    {
        var trials = SweepPlan.Expand(Spec("  zip:\n    training.learning_rate: [0.1, 0.2]\n    training.batch_size: [10, 20]"), 1);
        Assert.Equal(2, trials.Count);
        Assert.Equal(["training.learning_rate=0.2", "training.batch_size=20", "seed=1"], trials[1].Overrides);
        var e = Assert.Throws<ConfigException>(() => Spec("  zip:\n    training.learning_rate: [0.1, 0.2]\n    training.batch_size: [10]"));
        Assert.Contains("same length", Assert.Single(e.Errors).Message);
    }

    [Fact]
    public void Random_search_draws_reproducibly_within_its_distributions()
    {
        string block = "  random:\n    trials: 20\n    seed: 5\n    params:\n      training.learning_rate: { loguniform: [0.001, 1.0] }\n" +
                       "      training.batch_size: { int: [8, 64] }\n      training.gradient_reduction: { choice: [mean, sum] }\n      training.momentum: { uniform: [0.0, 0.9] }";
        var a = SweepPlan.Expand(Spec(block), 1);
        var b = SweepPlan.Expand(Spec(block), 1);
        Assert.Equal(20, a.Count);
        Assert.Equal(a.Select(t => t.Label), b.Select(t => t.Label));
        foreach (var t in a)
        {
            double lr = double.Parse(t.Overrides[0].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture);
            int bs = int.Parse(t.Overrides[1].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(lr, 0.001, 1.0);
            Assert.InRange(bs, 8, 64);
            Assert.Contains(t.Overrides[2], new[] { "training.gradient_reduction=mean", "training.gradient_reduction=sum" });
        }
        var bad = Assert.Throws<ConfigException>(() => Spec("  random:\n    trials: 2\n    params:\n      training.learning_rate: { logunifrom: [1, 2] }"));
        Assert.Contains("did you mean 'loguniform'", bad.Errors[0].Message);
    }

    [Fact]
    public void Range_and_logspace_expand_to_their_values()
    {
        Assert.Equal(["1", "3", "5"], SweepSpec.ExpandFunction("range(1, 7, 2)", out _));
        Assert.Equal(["0.1", "0.2", "0.3"], SweepSpec.ExpandFunction("range(0.1, 0.35, 0.1)", out _));
        Assert.Equal(["0.001", "0.01", "0.1", "1"], SweepSpec.ExpandFunction("logspace(-3, 0, 4)", out _));
        Assert.Null(SweepSpec.ExpandFunction("0.5", out _));
        SweepSpec.ExpandFunction("range(1, 5, 0)", out var error);
        Assert.Contains("non-zero", error);
    }

    [Fact]
    public void Command_line_values_with_commas_sweep_and_the_rest_are_plain_overrides()
    {
        var (plain, swept) = SweepPlan.SplitOverrides(["training.learning_rate=0.001,0.01,0.1", "training.epochs=3",
            "training.gradient_reduction={weights: sum, biases: mean},mean", "model.layers.0.units=range(2, 5)"]);
        Assert.Equal(["training.epochs=3"], plain);
        Assert.Equal(["0.001", "0.01", "0.1"], swept[0].Values);
        Assert.Equal(["{weights: sum, biases: mean}", "mean"], swept[1].Values);
        Assert.Equal(["2", "3", "4"], swept[2].Values);
    }

    [Fact]
    public void A_swept_seed_is_the_trials_seed_and_its_repeats_derive_from_it()
    {
        var trials = SweepPlan.Expand(new SweepSpec { Grid = [new SweepAxis("seed", ["7", "8"])], Repeats = 2 }, baseSeed: 1);
        Assert.Equal([7L, SweepPlan.RepeatSeed(7, 1), 8L, SweepPlan.RepeatSeed(8, 1)], trials.Select(t => t.Seed));
        Assert.All(trials, t => Assert.Single(t.Overrides, o => o.StartsWith("seed=", StringComparison.Ordinal)));
        Assert.Equal("seed=7", trials[0].Label);
    }
}

public class RandomDrawTests
{
    private static string Value(string overrideText) => overrideText[(overrideText.IndexOf('=') + 1)..];

    [Theory]
    [InlineData("uniform", 0.1000001, 0.1000009)]
    [InlineData("uniform", 0.9999990, 0.9999999)]
    [InlineData("loguniform", 0.9999990, 0.9999999)]
    [InlineData("loguniform", 1e-7, 1e-6)]
    public void A_drawn_number_lies_in_its_range_and_its_text_is_exactly_the_value_drawn(string kind, double low, double high)
    {
        var p = new RandomParam("training.momentum", kind, [], low, high);
        var rng = new ExpRunner.Nn.Rng(42);
        for (int i = 0; i < 2000; i++)
        {
            string text = SweepPlan.Draw(p, rng);
            double v = double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(v, low, high);
            Assert.Equal(text, v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void A_whole_number_range_beyond_32_bits_is_drawn_over_all_of_it()
    {
        var p = new RandomParam("seed", "int", [], 0, 4294967295);
        var rng = new ExpRunner.Nn.Rng(3);
        var values = Enumerable.Range(0, 400).Select(_ => long.Parse(SweepPlan.Draw(p, rng), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.All(values, v => Assert.InRange(v, 0, 4294967295));
        Assert.Contains(values, v => v > int.MaxValue);
        Assert.Contains(values, v => v < int.MaxValue);

        // The whole sweep, as its dry run expands it.
        var spec = ConfigLoader.Parse("dataset: { name: xor }\nmodel: { layers: [{ units: 1, activation: sigmoid }] }\nloss: bce\n" +
            "sweep:\n  random:\n    trials: 5\n    params:\n      seed: { int: [0, 4294967295] }\n", "s.yaml").Config.Sweep;
        Assert.Equal(5, SweepPlan.Expand(spec, 1).Count);
    }

    [Fact]
    public void A_whole_number_range_that_doubles_cannot_hold_exactly_is_refused_at_its_line()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("dataset: { name: xor }\nmodel: { layers: [{ units: 1, activation: sigmoid }] }\nloss: bce\n" +
            "sweep:\n  random:\n    trials: 5\n    params:\n      seed: { int: [0, 18446744073709551615] }\n", "s.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.StartsWith("s.yaml:8:", error.ToString());
        Assert.Contains("whole numbers within", error.Message);
    }
}
