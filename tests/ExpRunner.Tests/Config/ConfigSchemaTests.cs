using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ExpRunner.Config;
using ExpRunner.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace ExpRunner.Tests.Config;

/// <summary>
/// The JSON Schema editors use agrees with the loader: every shipped experiment passes both, and each
/// broken config fails both — checked with a real JSON-Schema validator (Debian's python3-jsonschema,
/// which make test installs), not with our own reading of the schema.
/// </summary>
public class ConfigSchemaTests
{
    /// <summary>A YAML document as JSON, typed as a YAML 1.2 editor types it (plain 3 is a number, '3' a string).</summary>
    private static JsonNode? Json(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, Json(c.Value)))),
        YamlSequenceNode q => new JsonArray([.. q.Children.Select(Json)]),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: var v } => v switch
        {
            null or "" or "~" or "null" => null,
            "true" => true, "false" => false,
            _ when long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) => l,
            _ when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
            _ => v,
        },
        YamlScalarNode s => s.Value,
        _ => throw new InvalidOperationException("an alias"),
    };

    private static JsonNode? Json(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Json(stream.Documents[0].RootNode);
    }

    /// <summary>Each document against the schema with python3-jsonschema: null when valid, else the validator's first message.</summary>
    private static List<string?> Validate(IReadOnlyList<JsonNode?> documents)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("schema.json"), ConfigSchema.Json());
        File.WriteAllText(dir.File("docs.json"), new JsonArray([.. documents.Select(d => d?.DeepClone())]).ToJsonString());
        const string Script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            validator = jsonschema.Draft202012Validator(schema)
            for doc in json.load(open(sys.argv[2])):
                errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
                print(json.dumps(None if not errors else "/".join(map(str, errors[0].absolute_path)) + ": " + errors[0].message))
            """;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", Script, dir.File("schema.json"), dir.File("docs.json") }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"python3-jsonschema failed (make test installs it): {error}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<string?>(l)).ToList();
    }

    [Fact]
    public void Every_shipped_experiment_passes_the_schema_and_the_loader()
    {
        var files = Directory.GetFiles(Path.Combine(Repo.Root, "experiments"), "*.yaml").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var results = Validate(files.Select(f => Json(File.ReadAllText(f))).ToList());
        for (int i = 0; i < files.Count; i++)
        {
            Assert.True(results[i] is null, $"{files[i]}: {results[i]}");
            ConfigLoader.Load(files[i]); // and the loader takes it
        }
    }

    private const string Good = """
        name: s
        dataset: { name: xor, samples: 100 }
        model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { optimizer: { name: adam, beta1: 0.8 }, learning_rate: 0.1, epochs: 3 }
        """;

    [Theory]
    [InlineData("learning_rate: 0.1", "lerning_rate: 0.1")]            // a misspelt key
    [InlineData("epochs: 3", "epochs: -1")]                             // out of range
    [InlineData("beta1: 0.8", "momentum: 0.8")]                        // a setting of another optimizer
    [InlineData("beta1: 0.8", "beta1: 1.5")]                           // a setting out of its declared range
    [InlineData("name: adam", "name: adma")]                            // no such optimizer
    [InlineData("loss: bce", "loss: hinge")]                            // no such loss
    [InlineData("activation: tanh", "activation: swish")]               // no such activation
    [InlineData("samples: 100", "samples: many")]                       // a word for a number
    [InlineData("name: xor,", "nme: xor,")]                             // the dataset's name missing
    public void A_broken_config_fails_the_schema_and_the_loader(string from, string to)
    {
        Assert.Contains(from, Good);
        string broken = Good.Replace(from, to);
        var results = Validate([Json(Good), Json(broken)]);
        Assert.True(results[0] is null, $"the good config: {results[0]}");
        Assert.NotNull(results[1]);
        ConfigLoader.Parse(Good, "s.yaml");
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(broken, "s.yaml"));
    }

    [Fact]
    public void The_schema_command_writes_the_schema_the_shipped_experiments_point_at()
    {
        var r = InProcess.Run("schema");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(ConfigSchema.Json() + "\n", r.Stdout);
        string shipped = Path.Combine(Repo.Root, "experiments", "exprunner.schema.json");
        if (Environment.GetEnvironmentVariable("EXPRUNNER_UPDATE_GOLDEN") == "1") File.WriteAllText(shipped, r.Stdout);
        Assert.Equal(r.Stdout, File.ReadAllText(shipped));
        foreach (var f in Directory.GetFiles(Path.Combine(Repo.Root, "experiments"), "*.yaml"))
            Assert.StartsWith("# yaml-language-server: $schema=exprunner.schema.json\n", File.ReadAllText(f));
    }
}
