using ExpRunner.Config;

namespace ExpRunner.Tests.Config;

public class ConfigLoaderTests
{
    private const string Valid = """
        name: t
        dataset: { name: xor, samples: 100 }
        model:
          layers:
            - { units: 4, activation: tanh }
            - { units: 1, activation: sigmoid }
        loss: bce
        training: { learning_rate: 0.1, batch_size: 10, epochs: 2 }
        """;

    private static IReadOnlyList<ConfigError> Errors(string yaml, params string[] overrides)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "exp.yaml", overrides));
        return e.Errors;
    }

    [Fact]
    public void A_valid_config_fills_in_the_documented_defaults()
    {
        var c = ConfigLoader.Parse(Valid, "exp.yaml").Config;
        Assert.Equal(0.1, c.Training.LearningRate);
        Assert.Equal(GradientReduction.Mean, c.Training.GradientReduction);
        Assert.True(c.Training.Shuffle);
        Assert.Equal(0.0, Assert.IsType<SgdConfig>(c.Training.Optimizer).Momentum);
        Assert.Equal(Precision.Float32, c.Precision);
        Assert.Equal(1, c.Seed);
    }

    [Fact]
    public void An_unknown_key_is_reported_with_its_position_and_a_did_you_mean()
    {
        var errors = Errors(Valid.Replace("learning_rate: 0.1", "learnin_rate: 0.1"));
        var e = Assert.Single(errors);
        Assert.Equal("exp.yaml:8:13", e.Location);
        Assert.Equal("training.learnin_rate", e.Key);
        Assert.Contains("did you mean 'learning_rate'", e.Message);
    }

    [Fact]
    public void Every_error_is_reported_at_once()
    {
        string yaml = """
            name: t
            dataset: { name: xorr }
            model:
              layers:
                - { units: 0, activation: sigmoidd }
            loss: sse
            training: { learning_rate: -1, batch_size: 0, epochs: many, gradient_reduction: avg }
            """;
        var errors = Errors(yaml);
        var keys = errors.Select(e => e.Key).ToList();
        Assert.Contains("dataset.name", keys);
        Assert.Contains("model.layers.0.units", keys);
        Assert.Contains("model.layers.0.activation", keys);
        Assert.Contains("training.learning_rate", keys);
        Assert.Contains("training.batch_size", keys);
        Assert.Contains("training.epochs", keys);
        Assert.Contains("training.gradient_reduction", keys);
        Assert.Contains(errors, e => e.Key == "dataset.name" && e.Message.Contains("did you mean 'xor'") && e.Location == "exp.yaml:2:18");
        Assert.Contains(errors, e => e.Key == "training.gradient_reduction" && e.Message.Contains("mean, sum"));
    }

    [Theory]
    [InlineData("loss: bce", "{ units: 1, activation: sigmoid }", "{ units: 2, activation: sigmoid }", "model.layers.1", "single sigmoid output")]
    [InlineData("loss: bce", "{ units: 1, activation: sigmoid }", "{ units: 2, activation: softmax }", "model.layers.1", "single sigmoid output")]
    [InlineData("loss: bce", "loss: bce", "loss: cross_entropy", "model.layers.1.activation", "cross_entropy needs a softmax")]
    [InlineData("loss: bce", "{ units: 1, activation: sigmoid }", "{ units: 3, activation: sigmoid }", "model.layers.1.units", "has 2 classes")]
    [InlineData("loss: bce", "{ units: 4, activation: tanh }", "{ units: 4, activation: softmax }", "model.layers.0.activation", "only supported on the output")]
    public void Network_semantics_are_checked_against_the_data_and_the_loss(string _, string from, string to, string key, string message)
    {
        var errors = Errors(Valid.Replace(from, to));
        Assert.Contains(errors, e => e.Key == key && e.Message.Contains(message));
    }

    [Fact]
    public void Softmax_output_without_cross_entropy_is_refused()
    {
        string yaml = Valid.Replace("{ units: 1, activation: sigmoid }", "{ units: 2, activation: softmax }").Replace("loss: bce", "loss: sse");
        Assert.Contains(Errors(yaml), e => e.Key == "model.layers.1.activation" && e.Message.Contains("needs loss cross_entropy"));
    }

    [Fact]
    public void Overrides_go_through_the_same_typed_path()
    {
        var c = ConfigLoader.Parse(Valid, "exp.yaml", ["training.learning_rate=0.5", "model.layers.0.units=9", "training.gradient_reduction={weights: sum, biases: mean}"]).Config;
        Assert.Equal(0.5, c.Training.LearningRate);
        Assert.Equal(9, c.Model.Layers[0].Units);
        Assert.Equal(new GradientReduction(Reduction.Sum, Reduction.Mean), c.Training.GradientReduction);
    }

    [Fact]
    public void A_bad_override_is_blamed_on_the_set_flag()
    {
        var e = Assert.Single(Errors(Valid, "training.learning_rate=-0.1"));
        Assert.Equal("--set training.learning_rate=-0.1", e.Location);
        Assert.Contains("> 0", e.Message);
        var typo = Assert.Single(Errors(Valid, "trainig.epochs=3"));
        Assert.Contains("did you mean 'training'", typo.Message);
    }

    [Fact]
    public void Invalid_yaml_syntax_names_the_position()
    {
        var e = Assert.Single(Errors("name: t\ndataset: { name: xor\nmodel: [1, 2"));
        Assert.StartsWith("exp.yaml:", e.Location);
        Assert.Contains("invalid YAML", e.Message);
    }

    [Fact]
    public void An_empty_file_or_a_list_at_the_top_is_refused_clearly()
    {
        Assert.Contains("empty", Assert.Single(Errors("")).Message);
        Assert.Contains("mapping", Assert.Single(Errors("- a\n- b\n")).Message);
    }

    [Fact]
    public void Hostile_yaml_fails_cleanly()
    {
        string deep = "a: " + new string('[', 5000) + new string(']', 5000);
        Assert.Contains("nesting", Assert.Single(Errors(deep)).Message);

        var bomb = new System.Text.StringBuilder("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 30; i++) bomb.Append(System.Globalization.CultureInfo.InvariantCulture, $"a{i}: &a{i} [*a{(i == 1 ? "" : (i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture))}, *a{(i == 1 ? "" : (i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture))}, *a{(i == 1 ? "" : (i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture))}]\n");
        Assert.Contains("alias", Assert.Single(Errors(bomb.ToString())).Message);

        var huge = Errors(Valid.Replace("learning_rate: 0.1", "learning_rate: 1e999999").Replace("batch_size: 10", "batch_size: 99999999999999999999999"));
        Assert.Contains(huge, e => e.Key == "training.learning_rate" && e.Message.Contains("finite"));
        Assert.Contains(huge, e => e.Key == "training.batch_size");
    }

    [Fact]
    public void The_resolved_config_written_to_a_run_loads_back_to_the_same_config()
    {
        var first = ConfigLoader.Parse(Valid, "exp.yaml", ["training.gradient_reduction={weights: sum, biases: mean}"]).Config;
        string yaml = ConfigWriter.ToYaml(first, "header");
        var second = ConfigLoader.Parse(yaml, "config.yaml").Config;
        // The typed configs, not what the writer makes of them: a key the writer left out would differ here.
        Assert.Equal(first.Training, second.Training);
        Assert.Equal(first.Dataset, second.Dataset);
        Assert.Equal(first.Model.Layers, second.Model.Layers);
        Assert.Equal((first.Model.Init, first.Model.EffectiveBiasInit), (second.Model.Init, second.Model.EffectiveBiasInit));
        Assert.Equal((first.Name, first.Seed, first.Precision, first.Loss), (second.Name, second.Seed, second.Precision, second.Loss));
        Assert.Equal(new GradientReduction(Reduction.Sum, Reduction.Mean), second.Training.GradientReduction);
    }

    [Fact]
    public void Every_shipped_experiment_validates()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(Support.Repo.Root, "experiments"), "*.yaml"))
            ConfigLoader.Load(file);
    }

    [Fact]
    public void Errors_across_fields_come_with_the_single_field_ones_in_file_order()
    {
        var errors = Errors(Valid.Replace("{ units: 4, activation: tanh }", "{ units: 4, activation: softmax }").Replace("epochs: 2", "epochs: -2"));
        Assert.Equal(["model.layers.0.activation", "training.epochs"], errors.Select(e => e.Key));
        Assert.StartsWith("exp.yaml:5:", errors[0].Location);
    }

    [Fact]
    public void A_tab_in_the_indentation_is_located_at_its_line()
    {
        var e = Assert.Single(Errors(Valid.Replace("  layers:", "\tlayers:")));
        Assert.Equal("exp.yaml:4:1: a tab in the indentation; YAML indents with spaces only", e.ToString());
    }

    [Fact]
    public void A_key_an_override_adds_is_blamed_on_the_override()
    {
        var e = Assert.Single(Errors(Valid, "training.learnig_rate=0.1"));
        Assert.Equal("--set training.learnig_rate=0.1", e.Location);
        Assert.Contains("did you mean 'learning_rate'", e.Message);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("../../etc")]
    [InlineData("")]
    public void A_name_is_a_name_not_a_path(string name)
    {
        var e = Assert.Single(Errors(Valid, $"name='{name}'"));
        Assert.Equal("name", e.Key);
        Assert.Contains("is not a name for a runs folder", e.Message);
    }

    [Theory]
    [InlineData("model.layers=[{units: 65536, activation: relu}, {units: 65536, activation: relu}, {units: 1, activation: sigmoid}]", "model.layers.1.units", "4,294,967,296 weights")]
    [InlineData("dataset={name: gaussian_quantiles, samples: 10000000, features: 100000}", "dataset.samples", "more values than one array holds")]
    [InlineData("model.layers=[{units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 40000, activation: relu}, {units: 1, activation: sigmoid}]", "model.layers.1.units", "GiB for its parameters")] // ~370 GiB: more than any machine this runs on
    public void Sizes_are_checked_before_anything_is_allocated(string set, string key, string message)
    {
        var e = Errors(Valid, set).First(x => x.Key == key);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_directory_an_invalid_utf8_file_and_a_missing_file_each_get_their_own_message()
    {
        using var dir = new Support.TempDir();
        Assert.Equal("is a directory, not a config file", Assert.Throws<ConfigException>(() => ConfigLoader.Load(dir.Path)).Errors[0].Message);
        File.WriteAllBytes(dir.File("bad.yaml"), [.. "name: caf"u8, 0xE9, .. "\n"u8]);
        var notUtf8 = Assert.Throws<ConfigException>(() => ConfigLoader.Load(dir.File("bad.yaml"))).Errors[0];
        Assert.Equal(($"{dir.File("bad.yaml")}:1:10", "not UTF-8 text (byte 0xE9 at offset 9); save the file as UTF-8"), (notUtf8.Location, notUtf8.Message));
        Assert.Equal("no such file", Assert.Throws<ConfigException>(() => ConfigLoader.Load(dir.File("none.yaml"))).Errors[0].Message);
    }
}
