using ExpRunner.Config;
using ExpRunner.Sweeps;

namespace ExpRunner.Tests.Sweeps;

/// <summary>
/// Which trials may train together: exactly those that see the same data in the same order in
/// batches of the same size (a wrong "yes" would train a trial on another trial's data); and how
/// sets of them are split over the jobs.
/// </summary>
public class FusionTests
{
    private const string Yaml = """
        name: k
        seed: 1
        dataset: { name: circles, samples: 200, validation_split: 0.2 }
        model: { layers: [ { units: 8, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.1, batch_size: 16, epochs: 3 }
        """;

    private static string Key(params string[] overrides) => Fusion.Key(ConfigLoader.Parse(Yaml, "k.yaml", overrides).Config);

    [Theory]
    [InlineData("training.learning_rate=0.5")]
    [InlineData("training.gradient_reduction=sum")]
    [InlineData("training.optimizer=adam")]
    [InlineData("training.epochs=7")]
    [InlineData("training.lr_schedule={kind: cosine}")]
    [InlineData("training.early_stopping={patience: 2}")]
    [InlineData("model.layers=[{units: 12, activation: relu}, {units: 4, activation: tanh}, {units: 1, activation: sigmoid}]")]
    [InlineData("model.init={scheme: normal, std: 0.3}")]
    [InlineData("loss=sse")]
    [InlineData("training.threads=2")]
    public void Trials_that_differ_in_what_training_does_with_the_data_train_together(string change) =>
        Assert.Equal(Key(), Key(change));

    [Theory]
    [InlineData("seed=2")]                                  // shuffled: the seed orders the data (and makes this generated data)
    [InlineData("training.batch_size=32")]
    [InlineData("dataset.samples=300")]
    [InlineData("dataset.noise=0.3")]
    [InlineData("dataset={name: moons, samples: 200, validation_split: 0.2}")]
    [InlineData("dataset.validation_split=0.3")]
    [InlineData("precision=float64")]
    public void Trials_that_see_other_data_or_another_order_do_not(string change) =>
        Assert.NotEqual(Key(), Key(change));

    [Fact]
    public void Trials_with_another_output_width_do_not_their_labels_rows_differ() =>
        Assert.NotEqual(Key(), Key("loss=cross_entropy", "model.layers=[{units: 8, activation: tanh}, {units: 2, activation: softmax}]")); // 1 sigmoid unit vs 2 classes one-hot

    [Fact]
    public void The_seed_matters_only_where_it_orders_or_makes_the_data()
    {
        Assert.NotEqual(Key("training.shuffle=false"), Key("training.shuffle=false", "seed=2")); // circles has no seed of its own: the experiment's makes it
        Assert.Equal(Key("training.shuffle=false", "dataset.seed=7"), Key("training.shuffle=false", "dataset.seed=7", "seed=2"));
        Assert.NotEqual(Key("training.shuffle=true", "dataset.seed=7"), Key("training.shuffle=true", "dataset.seed=7", "seed=2"));
    }

    [Fact]
    public void Compatible_trials_are_split_over_the_jobs_in_contiguous_groups_of_two_or_more()
    {
        int[] trials = [.. Enumerable.Range(0, 12)];
        string?[] one = [.. trials.Select(_ => "a")];
        Assert.Equal([[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]], Fusion.Plan(trials, one, 2));
        Assert.Equal([trials], Fusion.Plan(trials, one, 1));
        Assert.Equal(6, Fusion.Plan(trials, one, 64).Count); // never below two to a group
        Assert.All(Fusion.Plan(trials, one, 64), g => Assert.Equal(2, g.Count));

        // Two sets and a trial that must run alone: each set is a group, the lone trial its own; spare jobs split the larger set.
        string?[] mixed = ["a", "b", "a", null, "b", "a", "a"];
        Assert.Equal([[0, 2, 5, 6], [1, 4], [3]], Fusion.Plan([.. Enumerable.Range(0, 7)], mixed, 3));
        Assert.Equal([[0, 2], [5, 6], [1, 4], [3]], Fusion.Plan([.. Enumerable.Range(0, 7)], mixed, 4));
        // Fewer jobs than sets: the first sets now, the rest when a job frees up.
        Assert.Equal([[0, 2, 5, 6], [1, 4]], Fusion.Plan([.. Enumerable.Range(0, 7)], mixed, 2));
        Assert.Empty(Fusion.Plan(trials, one, 0));
    }

    [Fact]
    public void A_trials_memory_is_counted_as_the_check_before_a_run_counts_it()
    {
        // Groups are cut so that their trials' memory together fits: the same count the check before every run refuses on.
        var c = ConfigLoader.Parse(Yaml, "k.yaml", ["model.layers=[{units: 300, activation: tanh}, {units: 1, activation: sigmoid}]", "training.optimizer=adam"]).Config;
        long bytes = Footprint.Bytes(c, 70, 5000);
        Assert.True(bytes > 1_000_000);
        var errors = new List<string>();
        Footprint.Check(c, 70, 5000, bytes, (k, m) => errors.Add(k));
        Assert.Empty(errors);
        Footprint.Check(c, 70, 5000, bytes - 1, (k, m) => errors.Add(k));
        Assert.Single(errors);
    }

    [Fact]
    public void Trial_numbers_are_said_as_runs()
    {
        Assert.Equal("0–5, 8, 10, 11", Fusion.Numbers([0, 1, 2, 3, 4, 5, 8, 10, 11]));
        Assert.Equal("3", Fusion.Numbers([3]));
    }
}
