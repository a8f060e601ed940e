using ExpRunner.Config;

namespace ExpRunner.Tests.Config;

/// <summary>Schedules, initialisers and early stopping, declared as optimizers are: their own settings only, each in its range.</summary>
public class DeclaredKindsTests
{
    private const string Base = """
        name: k
        dataset: { name: xor, samples: 100, validation_split: 0.2 }
        model:
          layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ]
          init: { scheme: he_normal }
        loss: bce
        training: { learning_rate: 0.1, epochs: 20 }
        """;

    private static ExperimentConfig Load(params string[] sets) => ConfigLoader.Parse(Base, "k.yaml", sets).Config;

    private static ConfigError Error(params string[] sets) =>
        Assert.Single(Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Base, "k.yaml", sets)).Errors);

    [Fact]
    public void A_setting_of_another_initialiser_is_an_error_not_silently_ignored()
    {
        var e = Error("model.init.low=-1");
        Assert.Equal(("model.init.low", "applies to init scheme uniform, not he_normal"), (e.Key, e.Message));
        Assert.Equal(new UniformInit { Low = -1, High = 1 }, Load("model.init={scheme: uniform, low: -1, high: 1}").Model.Init);
        Assert.IsType<NormalInit>(Load("model.init=normal").Model.Init);
        Assert.Contains("must be greater than low", Error("model.init={scheme: uniform, low: 1, high: 0}").Message);
    }

    [Fact]
    public void Every_initialiser_a_config_can_name_is_one_the_network_knows()
    {
        Assert.Equal(ExpRunner.Nn.InitSpec.Schemes.Order(StringComparer.Ordinal), Inits.Kinds.Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_loss_and_activation_a_config_can_name_is_one_the_network_knows()
    {
        Assert.Equal(ExpRunner.Nn.Loss<double>.Names.Order(StringComparer.Ordinal), SnakeNames<LossKind>.All.Order(StringComparer.Ordinal));
        Assert.Equal(["float32", "float64"], SnakeNames<Precision>.All);
        Assert.Equal(ExpRunner.Nn.Activation<double>.Names.Order(StringComparer.Ordinal), SnakeNames<ActivationKind>.All.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_schedule_is_a_group_with_its_own_settings()
    {
        Assert.Equal(new CosineSchedule { MinLr = 0.001 }, Load("training.lr_schedule={kind: cosine, min_lr: 0.001}").Training.Schedule);
        Assert.Equal(new StepSchedule { StepEpochs = 5, Per = "batch" }, Load("training.lr_schedule=step", "training.lr_schedule.step_epochs=5", "training.lr_schedule.per=batch").Training.Schedule);
        var e = Error("training.lr_schedule=cosine", "training.lr_schedule.gamma=0.5");
        Assert.Equal(("training.lr_schedule.gamma", "applies to lr_schedule kind step or exponential, not cosine"), (e.Key, e.Message));
        Assert.Equal("training.lr_schedule", Error("training.lr_schedule=linear").Key); // the short form's error is said of the key written
    }

    [Fact]
    public void Early_stopping_takes_its_declared_settings_in_their_ranges()
    {
        var es = Load("training.early_stopping={metric: validation_accuracy, patience: 3}").Training.EarlyStopping!;
        Assert.Equal(new EarlyStopping { Metric = "validation_accuracy", Patience = 3 }, es);
        Assert.Contains("'validation_acc' is not allowed", Error("training.early_stopping={metric: validation_acc}").Message);
        Assert.Contains("must be between 1 and", Error("training.early_stopping={patience: 0}").Message);
    }

    [Fact]
    public void A_setting_another_dataset_has_is_an_error_where_it_used_to_be_ignored()
    {
        string[] tenClasses = ["model.layers.1={units: 10, activation: softmax}", "loss=cross_entropy"];
        var noise = Error([.. tenClasses, "dataset={name: mnist, noise: 0.3}"]);
        Assert.Equal(("dataset.noise", "applies to dataset xor or circles or moons or spirals, not mnist"), (noise.Key, noise.Message));
        var classes = Error("dataset.classes=3");
        Assert.Equal(("dataset.classes", "applies to dataset gaussian_quantiles or spirals, not xor"), (classes.Key, classes.Message));
        Assert.Contains("is required for csv data", Error("dataset=csv").Message);
        Assert.Equal(new MoonsConfig(), Load("dataset=moons").Dataset);
        var mnist = Assert.IsType<MnistConfig>(Load([.. tenClasses, "dataset={name: mnist, validation_split: 0.1}"]).Dataset);
        Assert.Equal(("data/mnist", 0.1), (mnist.Path, mnist.ValidationSplit)); // the folder filled in as it is written to the run
    }
}
