using System.Text.Json.Nodes;

namespace ExpRunner.Config;

/// <summary>
/// The JSON Schema (draft 2020-12) of an experiment config, for editors: VS Code's YAML extension and
/// others complete keys and flag errors as people type (`# yaml-language-server: $schema=…` at the top
/// of a config). The optimizer group comes from its declarations (<see cref="Optimizers"/>), the names
/// of datasets, losses, activations, initialisers, schedules and metrics from the lists the loader
/// checks against; a test validates every shipped experiment, and broken ones, with a real validator
/// and checks that the loader agrees.
/// </summary>
public static class ConfigSchema
{
    public const string Id = "https://exprunner.dev/schema/experiment.json";

    public static string Json() => Build().ToJsonString(new System.Text.Json.JsonSerializerOptions
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>Every key path the schema describes (training.learning_rate, dataset.validation_split, …), for did-you-means.</summary>
    public static IReadOnlyList<string> KeyPaths() => _keyPaths.Value;

    private static readonly Lazy<IReadOnlyList<string>> _keyPaths = new(() =>
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        void Walk(JsonNode? node, string prefix)
        {
            if (node is not JsonObject o) return;
            if (o["properties"] is JsonObject props)
                foreach (var (name, child) in props)
                {
                    string path = prefix.Length == 0 ? name : prefix + "." + name;
                    paths.Add(path);
                    Walk(child, path);
                }
            foreach (string alt in (string[])["oneOf", "anyOf", "allOf"])
                if (o[alt] is JsonArray options) foreach (var option in options) Walk(option, prefix);
        }
        Walk(Build(), "");
        return paths.ToList();
    });

    public static JsonObject Build() => new()
    {
        ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
        ["$id"] = Id,
        ["title"] = "ExpRunner experiment",
        ["description"] = "An experiment for `exprunner run` and `exprunner sweep`: dataset, model, loss, training; optionally a sweep and tracking.",
        ["type"] = "object",
        // A config built on others (extends) may leave the required keys to them.
        ["if"] = new JsonObject { ["not"] = new JsonObject { ["required"] = Arr("extends") } },
        ["then"] = new JsonObject { ["required"] = Arr("dataset", "model", "loss") },
        ["additionalProperties"] = false,
        ["properties"] = new JsonObject
        {
            ["extends"] = Doc(new JsonObject { ["oneOf"] = Arr(Str(), new JsonObject { ["type"] = "array", ["items"] = Str() }) },
                "configs this one is built on, relative to this file (applied in order, this file on top)"),
            ["name"] = Doc(Str(pattern: "^[A-Za-z0-9._-]{1,100}$"), "experiment name; runs go to runs/<name>/ (default: the file name)"),
            ["seed"] = Doc(Int(), "seeds initialisation, shuffling and synthetic data"),
            ["precision"] = Doc(Enum(SnakeNames<Precision>.All), "float32 (default) or float64"),
            ["dataset"] = Dataset(),
            ["model"] = Model(),
            ["loss"] = Doc(Enum(SnakeNames<LossKind>.All), "sse, mse, bce (one sigmoid unit) or cross_entropy (softmax output)"),
            ["training"] = Training(),
            ["sweep"] = Sweep(),
            ["probes"] = Doc(Object(Properties(ProbesConfig.Declared)), ProbesConfig.Declared.Doc),
            ["tracking"] = Object(new JsonObject
            {
                ["every_steps"] = Doc(Int(min: 1), "record every this many training steps in steps.csv.gz (default 1: every step)"),
                ["mlflow"] = Object(new JsonObject
                {
                    ["uri"] = Doc(Str(pattern: "^https?://"), "the MLflow tracking server (http:// or https://)"),
                    ["experiment"] = Doc(Str(), "the MLflow experiment (default: the config's name)"),
                }),
            }),
        },
    };

    private static JsonObject Dataset() => Group(Datasets.Kinds);

    private static JsonObject Model()
    {
        var init = Group(Inits.Kinds);
        var layer = Object(new JsonObject
        {
            ["units"] = Int(min: 1, max: 100_000),
            ["activation"] = Enum(SnakeNames<ActivationKind>.All),
            ["slope"] = Doc(Num(min: 0, below: 1), "leaky_relu: slope for negative inputs"),
        }, required: ["units", "activation"]);
        return Object(new JsonObject
        {
            ["layers"] = Doc(new JsonObject { ["type"] = "array", ["minItems"] = 1, ["maxItems"] = 64, ["items"] = layer }, "dense layers in order"),
            ["init"] = Doc(init, "initialiser of the weights (and of the biases unless bias_init)"),
            ["bias_init"] = init.DeepClone(),
        }, required: ["layers"]);
    }

    private static JsonObject Training()
    {
        var t = new JsonObject
        {
            ["optimizer"] = Group(Optimizers.Kinds),
            ["learning_rate"] = Num(above: 0),
            ["lr_schedule"] = Group(Schedules.Kinds),
            ["warmup_epochs"] = Int(min: 0),
            ["early_stopping"] = Doc(Object(Properties(EarlyStopping.Declared)), EarlyStopping.Declared.Doc),
            ["batch_size"] = Int(min: 1, max: 1_000_000),
            ["epochs"] = Int(min: 1, max: 10_000_000),
            ["gradient_reduction"] = new JsonObject
            {
                ["oneOf"] = Arr(Enum(["mean", "sum"]), Object(new JsonObject { ["weights"] = Enum(["mean", "sum"]), ["biases"] = Enum(["mean", "sum"]) },
                    required: ["weights", "biases"])),
            },
            ["shuffle"] = Bool(),
            ["threads"] = Int(min: 1, max: 256),
        };
        // The shape of older configs: an optimizer's settings loose beside it (still loaded: they move into the group).
        foreach (var key in Optimizers.Kinds.Keys)
            t[key] = new JsonObject { ["deprecated"] = true, ["description"] = $"write it inside optimizer: {{name: …, {key}: …}}" };
        return Object(t);
    }

    /// <summary>A group, from its declarations: a kind's name, or a mapping with the name and that kind's own settings.</summary>
    private static JsonObject Group(KindSet kinds)
    {
        var forms = new JsonArray { Doc(Enum(kinds.Names), "a kind with its defaults") };
        foreach (var kind in kinds.All)
        {
            var properties = Properties(kind);
            properties.Insert(0, kinds.NameKey, new JsonObject { ["const"] = kind.Name });
            string[] required = [kinds.NameKey, .. kind.Settings.Where(s => s.Declared.Required).Select(s => s.Key)];
            forms.Add(Doc(Object(properties, required: required), $"{kind.Display}: {kind.Doc}"));
        }
        return new JsonObject { ["oneOf"] = forms };
    }

    /// <summary>A kind's settings as schema properties: type, range or choices, doc with the default.</summary>
    private static JsonObject Properties(Kind kind)
    {
        var properties = new JsonObject();
        foreach (var s in kind.Settings)
            properties[s.Key] = Doc(Setting(s), s.Default is null || s.Declared.Required ? s.Declared.Doc : $"{s.Declared.Doc} (default {Default(s.Default)})");
        return properties;
    }

    private static JsonObject Setting(Setting s) =>
        s.IsBool ? Bool() : s.IsText ? (s.Declared.Choices is { } choices ? Enum(choices) : Str()) : Bounded(s.IsInteger ? "integer" : "number", s);

    private static JsonObject Bounded(string type, Setting s)
    {
        var o = new JsonObject { ["type"] = type };
        if (double.IsFinite(s.Declared.Min)) o[s.Declared.AboveMin ? "exclusiveMinimum" : "minimum"] = s.Declared.Min;
        if (double.IsFinite(s.Declared.Max)) o[s.Declared.BelowMax ? "exclusiveMaximum" : "maximum"] = s.Declared.Max;
        return o;
    }

    private static JsonObject Sweep()
    {
        var values = new JsonObject { ["oneOf"] = Arr(new JsonObject { ["type"] = "array", ["minItems"] = 1 }, Str()) };
        var distribution = new JsonObject
        {
            ["type"] = "object", ["minProperties"] = 1, ["maxProperties"] = 1,
            ["properties"] = new JsonObject
            {
                ["choice"] = new JsonObject { ["type"] = "array", ["minItems"] = 1 },
                ["uniform"] = Pair(), ["loguniform"] = Pair(), ["int"] = Pair(),
            },
            ["additionalProperties"] = false,
        };
        var metric = Enum(["train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "test_loss", "test_accuracy"]);
        return Object(new JsonObject
        {
            ["grid"] = Doc(new JsonObject { ["type"] = "object", ["additionalProperties"] = values }, "key → values: the Cartesian product"),
            ["zip"] = Doc(new JsonObject { ["type"] = "object", ["additionalProperties"] = values.DeepClone() }, "key → values paired by position"),
            ["random"] = Object(new JsonObject
            {
                ["trials"] = Int(min: 1, max: 100_000), ["seed"] = Int(),
                ["params"] = new JsonObject { ["type"] = "object", ["additionalProperties"] = distribution },
            }),
            ["repeats"] = Int(min: 1, max: 1000),
            ["executor"] = Object(new JsonObject
            {
                ["kind"] = Enum(["local", "slurm"]), ["partition"] = Str(), ["time"] = Str(), ["mem"] = Str(),
                ["cpus_per_task"] = Int(min: 1, max: 1024), ["max_parallel"] = Int(min: 1),
                ["sbatch_args"] = new JsonObject { ["type"] = "array", ["items"] = Str() },
            }),
            ["search"] = Object(new JsonObject
            {
                ["method"] = Enum(["tpe", "random"]), ["trials"] = Int(min: 1, max: 100_000), ["seed"] = Int(),
                ["params"] = new JsonObject { ["type"] = "object", ["additionalProperties"] = distribution.DeepClone() },
                ["metric"] = metric, ["mode"] = Enum(["min", "max"]), ["startup_trials"] = Int(min: 1),
            }, required: ["trials", "params"]),
            ["prune"] = Object(new JsonObject
            {
                ["metric"] = metric.DeepClone(), ["mode"] = Enum(["min", "max"]), ["min_epochs"] = Int(min: 1), ["reduction_factor"] = Int(min: 2, max: 1000),
            }),
        });
    }

    private static JsonObject Pair() => new() { ["type"] = "array", ["minItems"] = 2, ["maxItems"] = 2, ["items"] = new JsonObject { ["type"] = "number" } };

    private static JsonObject Object(JsonObject properties, params string[] required)
    {
        var o = new JsonObject { ["type"] = "object", ["properties"] = properties, ["additionalProperties"] = false };
        if (required.Length > 0) o["required"] = Arr(required);
        return o;
    }

    private static JsonObject Doc(JsonObject o, string description) { o["description"] = description; return o; }
    private static JsonObject Str(string? pattern = null) { var o = new JsonObject { ["type"] = "string" }; if (pattern is not null) o["pattern"] = pattern; return o; }
    private static JsonObject Bool() => new() { ["type"] = "boolean" };
    private static JsonObject Enum(IEnumerable<string> values) => new() { ["enum"] = Arr([.. values]) };

    private static JsonObject Int(long? min = null, long? max = null)
    {
        var o = new JsonObject { ["type"] = "integer" };
        if (min is long a) o["minimum"] = a;
        if (max is long b) o["maximum"] = b;
        return o;
    }

    private static JsonObject Num(double? min = null, double? max = null, double? above = null, double? below = null)
    {
        var o = new JsonObject { ["type"] = "number" };
        if (min is double a) o["minimum"] = a;
        if (max is double b) o["maximum"] = b;
        if (above is double c) o["exclusiveMinimum"] = c;
        if (below is double d) o["exclusiveMaximum"] = d;
        return o;
    }

    private static JsonArray Arr(params object[] items) => new([.. items.Select(i => i switch { JsonNode n => n, string s => JsonValue.Create(s), _ => throw new ArgumentException() })]);

    private static string Default(object? v) => v switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
