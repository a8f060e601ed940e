using ExpRunner.Config;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Config;

/// <summary>
/// Guards of the config's shape: every shipped experiment's resolved config.yaml (what its run
/// folders hold) and flattened parameters (what compare, filters, the index and MLflow key on) are
/// kept in Golden/ — a change to either is a migration, seen in the diff of these files and
/// documented. EXPRUNNER_UPDATE_GOLDEN=1 writes them anew.
/// </summary>
public class GoldenConfigTests
{
    public static TheoryData<string> Experiments() =>
        new(Directory.GetFiles(Path.Combine(Repo.Root, "experiments"), "*.yaml").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!);

    private static string Golden(string name) => Path.Combine(Repo.Root, "tests", "ExpRunner.Tests", "Config", "Golden", name);

    private static void Check(string file, string actual)
    {
        if (Environment.GetEnvironmentVariable("EXPRUNNER_UPDATE_GOLDEN") == "1") File.WriteAllText(Golden(file), actual);
        Assert.True(File.Exists(Golden(file)), $"no golden file {Golden(file)} (EXPRUNNER_UPDATE_GOLDEN=1 writes it)");
        Assert.Equal(File.ReadAllText(Golden(file)), actual);
    }

    [Theory]
    [MemberData(nameof(Experiments))]
    public void A_shipped_experiment_resolves_to_its_kept_config_and_parameters(string name)
    {
        var config = ConfigLoader.Load(Repo.Experiments(name + ".yaml")).Config;
        Check(name + ".yaml", ConfigWriter.ToYaml(config));
        Check(name + ".params", string.Concat(ConfigWriter.Flatten(config).Select(p => $"{p.Key}={p.Value}\n")));
    }

    public static TheoryData<string> Tables() => new("datasets", "optimizers", "schedules", "inits", "early_stopping", "probes");

    private static string Table(string name) => name switch
    {
        "datasets" => Datasets.Kinds.MarkdownTable("name"),
        "optimizers" => Optimizers.Kinds.MarkdownTable("optimizer"),
        "schedules" => Schedules.Kinds.MarkdownTable("lr_schedule kind"),
        "inits" => Inits.Kinds.MarkdownTable("scheme"),
        "probes" => new KindSet("probes", "", [ProbesConfig.Declared]).MarkdownTable("group"),
        _ => new KindSet("training.early_stopping", "", [EarlyStopping.Declared]).MarkdownTable("group"),
    };

    [Theory]
    [MemberData(nameof(Tables))]
    public void The_readmes_reference_tables_are_the_ones_the_declarations_make(string name)
    {
        string readme = Path.Combine(Repo.Root, "README.md");
        string text = File.ReadAllText(readme);
        string start = $"<!-- {name}: generated -->\n", end = $"<!-- /{name} -->";
        int a = text.IndexOf(start, StringComparison.Ordinal), b = text.IndexOf(end, StringComparison.Ordinal);
        Assert.True(a >= 0 && b > a, $"README.md has no generated table {name}");
        string table = Table(name);
        if (Environment.GetEnvironmentVariable("EXPRUNNER_UPDATE_GOLDEN") == "1")
            File.WriteAllText(readme, text[..(a + start.Length)] + table + text[b..]);
        Assert.Equal(table, File.ReadAllText(readme)[(a + start.Length)..b]);
    }
}
