using ExpRunner.Config;

namespace ExpRunner.Tests.Config;

/// <summary>The optimizer, schedule and early-stopping keys: defaults, errors, and the resolved config loading back the same.</summary>
public class TrainingConfigTests
{
    private const string Base = """
        name: t
        dataset: { name: xor, samples: 100, validation_split: 0.2 }
        model:
          layers:
            - { units: 4, activation: tanh }
            - { units: 1, activation: sigmoid }
        loss: bce
        training:
          learning_rate: 0.1
          batch_size: 10
          epochs: 20
        """;

    private static ExperimentConfig Load(string yaml, params string[] sets) => ConfigLoader.Parse(yaml, "exp.yaml", sets).Config;

    private static IReadOnlyList<ConfigError> Errors(string yaml, params string[] sets) =>
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "exp.yaml", sets)).Errors;

    [Fact]
    public void Each_optimizer_gets_pytorchs_defaults()
    {
        var adam = Assert.IsType<AdamConfig>(Load(Base, "training.optimizer=adam").Training.Optimizer);
        Assert.Equal((0.9, 0.999, 1e-8, 0.0), (adam.Beta1, adam.Beta2, adam.Eps, adam.WeightDecay));
        var adamw = Assert.IsType<AdamWConfig>(Load(Base, "training.optimizer=adamw").Training.Optimizer);
        Assert.Equal(0.01, adamw.WeightDecay);
        Assert.True(adamw.DecoupledDecay);
        var rmsprop = Assert.IsType<RmspropConfig>(Load(Base, "training.optimizer=rmsprop").Training.Optimizer);
        Assert.Equal((0.99, 1e-8), (rmsprop.Alpha, rmsprop.Eps));
        var adagrad = Assert.IsType<AdagradConfig>(Load(Base, "training.optimizer=adagrad").Training.Optimizer);
        Assert.Equal((1e-10, 0.0), (adagrad.Eps, adagrad.LrDecay));
        Assert.False(Load(Base, "training.weight_decay=0.1").Training.Optimizer.DecoupledDecay);
    }

    [Theory]
    [InlineData("training.beta1=0.8", "training.optimizer.beta1", "applies to optimizer adam or adamw, not sgd")]
    [InlineData("training.alpha=0.9", "training.optimizer.alpha", "applies to optimizer rmsprop, not sgd")]
    [InlineData("training.nesterov=true", "training.optimizer.nesterov", "needs momentum > 0")]
    [InlineData("training.optimizer=adamm", "training.optimizer", "did you mean 'adam'")]
    [InlineData("training.warmup_epochs=20", "training.warmup_epochs", "fewer than the 20 epochs")]
    [InlineData("training.lr_schedule=linear", "training.lr_schedule", "one of constant, step, exponential, cosine")]
    public void A_setting_that_would_do_nothing_or_cannot_work_is_an_error(string set, string key, string message)
    {
        var e = Assert.Single(Errors(Base, set), x => x.Key == key);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Schedule_and_early_stopping_errors_point_at_what_was_written()
    {
        string yaml = Base + """

              lr_schedule: { kind: cosine, min_lr: 0.5, gamma: 0.3 }
              early_stopping: { metric: validation_los, patience: 0 }
            """;
        var errors = Errors(yaml.Replace("validation_split: 0.2", "validation_split: 0"));
        Assert.Contains(errors, e => e.Key == "training.lr_schedule.gamma" && e.Message.Contains("applies to lr_schedule kind step or exponential, not cosine"));
        Assert.Contains(errors, e => e.Key == "training.early_stopping.metric" && e.Message.Contains("did you mean 'validation_loss'"));
        Assert.Contains(errors, e => e.Key == "training.early_stopping.patience" && e.Location == "exp.yaml:13:55");
        var semantic = Errors(yaml.Replace("validation_los,", "validation_loss,").Replace("patience: 0", "patience: 2").Replace(", gamma: 0.3", "").Replace("validation_split: 0.2", "validation_split: 0"));
        Assert.Contains(semantic, e => e.Key == "training.early_stopping" && e.Message.Contains("needs a validation split"));
        Assert.Contains(semantic, e => e.Key == "training.lr_schedule.min_lr" && e.Message.Contains("below learning_rate"));
    }

    [Fact]
    public void The_resolved_config_loads_back_to_the_same_training()
    {
        string yaml = Base + """

              optimizer: adamw
              beta2: 0.98
              lr_schedule: { kind: step, step_epochs: 5, gamma: 0.5, per: batch }
              warmup_epochs: 2
              early_stopping: { metric: validation_accuracy, patience: 3, min_delta: 0.001, restore_best: false }
            """;
        var first = Load(yaml);
        var again = ConfigLoader.Parse(ConfigWriter.ToYaml(first, "resolved"), "resolved.yaml").Config;
        Assert.Equal(first.Training, again.Training);
        var flat = ConfigWriter.Flatten(again).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("step", flat["training.lr_schedule.kind"]);
        Assert.Equal("3", flat["training.early_stopping.patience"]);
        Assert.False(flat.ContainsKey("training.optimizer.momentum")); // not an adamw setting
        Assert.Equal("adamw", flat["training.optimizer"]);                // the group's name under its own key
    }
}
