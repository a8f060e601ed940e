using ExpRunner.Config;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Config;

/// <summary>The optimizer is a group: choosing another optimizer takes its settings with it; Hydra's + and ~ for the rest.</summary>
public class OptimizerGroupTests
{
    private const string Loose = """
        name: g
        dataset: { name: xor, samples: 100 }
        model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training:
          optimizer: sgd
          learning_rate: 0.1
          momentum: 0.9
          weight_decay: 0.001
        """;

    private static ExperimentConfig Load(string yaml, params string[] sets) => ConfigLoader.Parse(yaml, "g.yaml", sets).Config;

    private static ConfigError Error(string yaml, params string[] sets) =>
        Assert.Single(Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "g.yaml", sets)).Errors);

    [Fact]
    public void Settings_written_loose_beside_the_optimizer_belong_to_it()
    {
        var sgd = Assert.IsType<SgdConfig>(Load(Loose).Training.Optimizer);
        Assert.Equal((0.9, 0.001), (sgd.Momentum, sgd.WeightDecay));
        // Choosing another optimizer replaces the group, its settings with it.
        Assert.Equal(new AdamConfig(), Load(Loose, "training.optimizer=adam").Training.Optimizer);
        Assert.Equal(new RmspropConfig { Alpha = 0.9 }, Load(Loose, "training.optimizer={name: rmsprop, alpha: 0.9}").Training.Optimizer);
    }

    [Fact]
    public void An_override_edits_inside_the_group_in_either_spelling()
    {
        Assert.Equal(0.95, Assert.IsType<SgdConfig>(Load(Loose, "training.optimizer.momentum=0.95").Training.Optimizer).Momentum);
        Assert.Equal(0.95, Assert.IsType<SgdConfig>(Load(Loose, "training.momentum=0.95").Training.Optimizer).Momentum);
        var adam = Assert.IsType<AdamConfig>(Load(Loose, "training.optimizer=adam", "training.optimizer.beta1=0.8").Training.Optimizer);
        Assert.Equal(0.8, adam.Beta1);
        Assert.Equal(0.0, Assert.IsType<SgdConfig>(Load(Loose, "~training.optimizer.momentum").Training.Optimizer).Momentum);
    }

    [Fact]
    public void A_setting_of_another_optimizer_is_an_error_at_the_line_that_wrote_it()
    {
        var e = Error(Loose, "training.optimizer=adam", "training.momentum=0");
        Assert.Equal(("--set training.momentum=0", "training.optimizer.momentum", "applies to optimizer sgd or rmsprop, not adam"), (e.Location, e.Key, e.Message));
        var inFile = Error(Loose.Replace("optimizer: sgd", "optimizer: adagrad"));
        Assert.Equal(("g.yaml:8:13", "training.optimizer.momentum"), (inFile.Location, inFile.Key));
        var name = Error(Loose, "training.optimizer=adma");
        Assert.Equal("training.optimizer", name.Key);
        Assert.Contains("did you mean 'adam'", name.Message);
    }

    [Fact]
    public void Plus_adds_only_what_is_missing_and_tilde_removes_only_what_is_there()
    {
        Assert.Equal(3, Load(Loose, "+training.epochs=3").Training.Epochs);
        var twice = Error(Loose, "+training.learning_rate=0.5");
        Assert.Contains("is already set (at g.yaml:7:18)", twice.Message);
        Assert.Equal(TrainingConfigDefaults.Epochs, Load(Loose, "training.epochs=3", "~training.epochs").Training.Epochs);
        var nothing = Error(Loose, "~training.early_stopping");
        Assert.Equal(("training.early_stopping", "is not set: there is nothing to remove"), (nothing.Key, nothing.Message));
    }

    [Fact]
    public void The_optimizer_sweep_of_the_shipped_fashion_experiment_runs_each_optimizer_with_its_own_settings()
    {
        var sweep = NewSweep.Plan(Repo.Experiments("fashion-mnist.yaml"), ["training.optimizer=sgd,adam"]);
        Assert.Equal(2, sweep.Trials.Count);
        var configs = sweep.Trials.Select(t => ConfigLoader.Load(Repo.Experiments("fashion-mnist.yaml"), t.Overrides).Config.Training.Optimizer).ToList();
        Assert.Equal(0.9, Assert.IsType<SgdConfig>(configs[0]).Momentum);
        Assert.Equal(new AdamConfig(), configs[1]);
    }

    [Fact]
    public void Runs_recorded_with_loose_optimizer_keys_are_read_under_the_groups_keys()
    {
        var old = new Dictionary<string, string> { ["training.optimizer"] = "sgd", ["training.momentum"] = "0.9", ["training.learning_rate"] = "0.1" };
        var read = ExpRunner.Compare.RunRow.CurrentKeys(old);
        Assert.Equal(new Dictionary<string, string> { ["training.optimizer"] = "sgd", ["training.optimizer.momentum"] = "0.9", ["training.learning_rate"] = "0.1" }, read);
        var flat = ConfigWriter.Flatten(Load(Loose)).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(("sgd", "0.9"), (flat["training.optimizer"], flat["training.optimizer.momentum"]));
    }

    private static class TrainingConfigDefaults
    {
        public static readonly int Epochs = new TrainingConfig().Epochs;
    }
}
