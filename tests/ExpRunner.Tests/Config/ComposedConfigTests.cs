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
        Assert.Equal(-0.3, Assert.IsType<UniformInit>(c.Model.Init).Low);                 // a map the child left alone
        Assert.Equal(1, Assert.Single(c.Model.Layers).Units); // a list the child gave replaces the base's
        Assert.DoesNotContain("extends", ConfigWriter.ToYaml(c)); // the resolved config is whole
    }

    [Fact]
    public void A_diamond_of_bases_reads_and_composes_each_file_once()
    {
        // 12 files in three layers of four, each extending all four of the layer below: 4^3 paths, 12 files.
        using var dir = new TempDir();
        dir.Write("l0-0.yaml", Base);
        for (int i = 1; i < 4; i++) dir.Write($"l0-{i}.yaml", $"seed: {i}\n");
        for (int layer = 1; layer < 3; layer++)
            for (int i = 0; i < 4; i++)
                dir.Write($"l{layer}-{i}.yaml", $"extends: [{string.Join(", ", Enumerable.Range(0, 4).Select(j => $"l{layer - 1}-{j}.yaml"))}]\ntraining: {{ epochs: {layer * 10 + i} }}\n");
        string top = dir.Write("top.yaml", "extends: [l2-0.yaml, l2-1.yaml, l2-2.yaml, l2-3.yaml]\nname: diamond\n");
        var reads = new Dictionary<string, int>();
        var tree = YamlTree.Parse(File.ReadAllText(top), top);
        var errors = new List<ConfigError>();
        tree.Compose(path => { reads[path] = reads.GetValueOrDefault(path) + 1; return File.ReadAllText(path); }, errors);
        Assert.Empty(errors);
        Assert.Equal(12, reads.Count);
        Assert.All(reads.Values, n => Assert.Equal(1, n));
        var c = ConfigLoader.Load(top).Config;
        Assert.Equal((3L, 23), (c.Seed, c.Training.Epochs)); // the last base of each list wins
    }

    [Fact]
    public async Task A_base_that_is_not_a_regular_file_is_refused_before_it_is_opened()
    {
        using var dir = new TempDir();
        string fifo = dir.File("base.yaml");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)!)
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        string top = dir.Write("top.yaml", "extends: base.yaml\nname: x\n");
        // Opening a FIFO with no writer would block for ever: the answer must come at once.
        var load = Task.Run(() => Assert.Throws<ConfigException>(() => ConfigLoader.Load(top)), TestContext.Current.CancellationToken);
        var refused = await load.WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken); // blocked for ever before
        var e = refused.Errors.Single(x => x.Key == "extends");
        Assert.Equal($"{top}:1:10 extends: 'base.yaml': not a regular file (a pipe, socket or device cannot be a base)", e.ToString());
    }

    [Fact]
    public void A_config_that_is_not_utf8_is_reported_at_its_line_and_column()
    {
        using var dir = new TempDir();
        string path = dir.File("latin1.yaml");
        File.WriteAllBytes(path, [.. "name: x\nseed: 1\n# caf"u8, 0xE9, .. " au lait\n"u8]);
        var e = Assert.Single(Assert.Throws<ConfigException>(() => ConfigLoader.Load(path)).Errors);
        Assert.Equal($"{path}:3:6: not UTF-8 text (byte 0xE9 at offset 21); save the file as UTF-8", e.ToString());
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
        Assert.Equal(("adam", 1, 20, 0.01), (Optimizers.NameOf(t.Optimizer), t.Epochs, t.BatchSize, t.LearningRate));
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
