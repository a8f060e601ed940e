using ExpRunner.Config;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Config;

/// <summary>extends: a config built on others — merged maps, replaced lists, errors where the value was written.</summary>
public class ComposedConfigTests
{
    private const string Base = """
        name: base
        seed: 7
        dataset: { name: xor, samples: 100 }
        model:
          layers:
            - { units: 4, activation: tanh }
            - { units: 1, activation: sigmoid }
          init: { scheme: uniform, low: -0.3, high: 0.3 }
        loss: bce
        training:
          learning_rate: 0.1
          batch_size: 10
          epochs: 2
        """;

    [Fact]
    public void A_config_extends_a_base_maps_merging_and_lists_replaced()
    {
        using var dir = new TempDir();
        dir.Write("base.yaml", Base);
        string child = dir.Write("child.yaml", """
            extends: base.yaml
            name: child
            model:
              layers:
                - { units: 1, activation: sigmoid }
            training: { learning_rate: 0.5 }
            """);
        var c = ConfigLoader.Load(child).Config;
        Assert.Equal(("child", 7L), (c.Name, c.Seed));
        Assert.Equal(0.5, c.Training.LearningRate);
        Assert.Equal(10, c.Training.BatchSize);               // from the base, beside the child's learning rate
        Assert.Equal(-0.3, c.Model.Init.Low);                 // a map the child left alone
        Assert.Equal(1, Assert.Single(c.Model.Layers).Units); // a list the child gave replaces the base's
        Assert.DoesNotContain("extends", ConfigWriter.ToYaml(c)); // the resolved config is whole
    }

    [Fact]
    public void Bases_apply_in_order_and_may_extend_others_relative_to_themselves()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("shared"));
        dir.Write("shared/base.yaml", Base);
        dir.Write("shared/fast.yaml", "extends: base.yaml\ntraining: { epochs: 1, batch_size: 50 }\n");
        dir.Write("shared/adam.yaml", "training: { optimizer: adam, batch_size: 20 }\n");
        string top = dir.Write("top.yaml", "extends: [shared/fast.yaml, shared/adam.yaml]\nname: top\n");
        var t = ConfigLoader.Load(top, ["training.learning_rate=0.01"]).Config.Training;
        Assert.Equal(("adam", 1, 20, 0.01), (t.Optimizer, t.Epochs, t.BatchSize, t.LearningRate));
    }

    [Fact]
    public void An_error_in_a_base_points_into_the_base()
    {
        using var dir = new TempDir();
        dir.Write("base.yaml", Base.Replace("learning_rate: 0.1", "learning_rate: -0.1"));
        string child = dir.Write("child.yaml", "extends: base.yaml\nname: child\ntraining: { epochs: 0 }\n");
        var errors = Assert.Throws<ConfigException>(() => ConfigLoader.Load(child)).Errors;
        var lr = Assert.Single(errors, e => e.Key == "training.learning_rate");
        Assert.Equal($"{Path.Combine(dir.Path, "base.yaml")}:11:18", lr.Location);
        var epochs = Assert.Single(errors, e => e.Key == "training.epochs");
        Assert.StartsWith(child + ":3:", epochs.Location);
    }

    [Fact]
    public void A_cycle_or_a_missing_base_is_an_error_at_the_entry_naming_it()
    {
        using var dir = new TempDir();
        dir.Write("a.yaml", "extends: b.yaml\nname: a\n");
        dir.Write("b.yaml", "extends: a.yaml\n" + Base);
        var cycle = Assert.Single(Assert.Throws<ConfigException>(() => ConfigLoader.Load(dir.File("a.yaml"))).Errors, e => e.Key == "extends");
        Assert.Contains("cycle: a.yaml → b.yaml → a.yaml", cycle.Message);
        Assert.Equal($"{Path.Combine(dir.Path, "b.yaml")}:1:10", cycle.Location);
        dir.Write("c.yaml", "extends: [base.yaml, nope.yaml]\n");
        dir.Write("base.yaml", Base);
        var missing = Assert.Single(Assert.Throws<ConfigException>(() => ConfigLoader.Load(dir.File("c.yaml"))).Errors, e => e.Key == "extends");
        Assert.Equal($"{dir.File("c.yaml")}:1:22", missing.Location);
        Assert.Contains("'nope.yaml': no such file", missing.Message);
    }

    [Fact]
    public void A_sweep_keeps_a_composed_copy_that_stands_alone()
    {
        using var dir = new TempDir();
        dir.Write("base.yaml", Base);
        string child = dir.Write("child.yaml", "extends: base.yaml\nname: child\nsweep: { grid: { training.learning_rate: [0.1, 0.2] } }\n");
        var plan = ExpRunner.Sweeps.NewSweep.Plan(child, []);
        var store = new ExpRunner.Sweeps.SweepStore(dir.File("runs"));
        var sweep = plan.Create(store, "local", null, DateTimeOffset.UtcNow);
        string copy = store.PathOf(sweep.Id, ExpRunner.Sweeps.SweepStore.ConfigFile);
        File.Delete(dir.File("base.yaml"));
        var c = ConfigLoader.Load(copy).Config;
        Assert.Equal(("child", 10, 2), (c.Name, c.Training.BatchSize, c.Sweep.Grid.Single().Values.Count));
    }
}
