using System.Globalization;
using System.Text;

namespace ExpRunner.Config;

/// <summary>
/// The resolved config as YAML (what a run folder's config.yaml holds: every key, defaults filled
/// in, loadable again) and as flat key.path → value pairs (run parameters for compare and tracking).
/// </summary>
public static class ConfigWriter
{
    /// <summary>A mapping; <see cref="NameKey"/>: a group's key naming its kind, flattened as the group's own key (training.optimizer=adam).</summary>
    private sealed record Node(List<(string Key, object Value)> Items, string? NameKey = null);

    private static Node Tree(ExperimentConfig c)
    {
        var layers = c.Model.Layers.Select(l =>
        {
            var items = new List<(string, object)> { ("units", l.Units), ("activation", l.ActivationName) };
            if (l.Activation == ActivationKind.LeakyRelu) items.Add(("slope", l.Slope));
            return (object)new Node(items);
        }).ToList();
        var t = c.Training;
        return new Node([
            ("name", c.Name),
            ("seed", c.Seed),
            ("precision", SnakeNames<Precision>.Of(c.Precision)),
            ("dataset", Group(Datasets.Kinds, c.Dataset)),
            ("model", new Node([("layers", layers), ("init", Init(c.Model.Init)), ("bias_init", Init(c.Model.EffectiveBiasInit))])),
            ("loss", SnakeNames<LossKind>.Of(c.Loss)),
            ("training", new Node(Training(t))),
            .. (c.Probes is { } p ? new[] { ("probes", (object)new Node([.. ProbesConfig.Declared.Values(p).Select(v => (v.Setting.Key, v.Value))])) } : []),
            .. (c.Tracking.EverySteps != 1 ? new[] { ("tracking", (object)new Node([("every_steps", c.Tracking.EverySteps)])) } : []),
        ]);
    }

    /// <summary>The training block: the optimizer group with its own settings, a schedule and early stopping when there are any.</summary>
    private static List<(string Key, object Value)> Training(TrainingConfig t)
    {
        var items = new List<(string, object)> { ("optimizer", Group(Optimizers.Kinds, t.Optimizer)), ("learning_rate", t.LearningRate) };
        if (t.Schedule is not ConstantSchedule || t.WarmupEpochs > 0)
        {
            items.Add(("lr_schedule", Group(Schedules.Kinds, t.Schedule)));
            items.Add(("warmup_epochs", t.WarmupEpochs));
        }
        if (t.EarlyStopping is { } e)
            items.Add(("early_stopping", new Node([.. EarlyStopping.Declared.Values(e).Select(v => (v.Setting.Key, v.Value))])));
        items.AddRange([
            ("batch_size", t.BatchSize), ("epochs", t.Epochs),
            ("gradient_reduction", t.GradientReduction.Weights == t.GradientReduction.Biases
                ? GradientReduction.Name(t.GradientReduction.Weights)
                : new Node([("weights", GradientReduction.Name(t.GradientReduction.Weights)), ("biases", GradientReduction.Name(t.GradientReduction.Biases))])),
            ("shuffle", t.Shuffle), ("threads", t.Threads)]);
        return items;
    }

    /// <summary>A group as its kind declares it: its name, then every setting of that kind.</summary>
    private static Node Group(KindSet kinds, object value)
    {
        var kind = kinds.Of(value);
        var items = new List<(string, object)> { (kinds.NameKey, kind.Name) };
        items.AddRange(kind.Values(value).Select(v => (v.Setting.Key, v.Value)));
        return new Node(items, kinds.NameIsGroupKey ? kinds.NameKey : null);
    }

    private static Node Init(InitConfig i) => Group(Inits.Kinds, i);

    public static string ToYaml(ExperimentConfig c, string? header = null)
    {
        var sb = new StringBuilder();
        if (header is not null) foreach (var line in header.Split('\n')) sb.Append("# ").Append(line).Append('\n');
        Write(sb, Tree(c), 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, Node node, int indent)
    {
        foreach (var (key, value) in node.Items)
        {
            sb.Append(' ', indent).Append(key).Append(':');
            switch (value)
            {
                case Node child: sb.Append('\n'); Write(sb, child, indent + 2); break;
                case List<object> list:
                    sb.Append('\n');
                    foreach (var item in list)
                    {
                        var n = (Node)item;
                        sb.Append(' ', indent + 2).Append("- {");
                        sb.AppendJoin(", ", n.Items.Select(i => $"{i.Key}: {Scalar(i.Value)}"));
                        sb.Append("}\n");
                    }
                    break;
                default: sb.Append(' ').Append(Scalar(value)).Append('\n'); break;
            }
        }
    }

    /// <summary>Flattened parameters: training.learning_rate, model.layers.0.units, ... in config order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Flatten(ExperimentConfig c)
    {
        var result = new List<KeyValuePair<string, string>>();
        Flatten(Tree(c), "", result);
        return result;
    }

    private static void Flatten(Node node, string prefix, List<KeyValuePair<string, string>> into)
    {
        foreach (var (key, value) in node.Items)
        {
            string path = prefix + key;
            switch (value)
            {
                case Node { NameKey: { } nameKey } group:
                    foreach (var (k, v) in group.Items)
                        if (k == nameKey) into.Add(new(path, Scalar(v)));
                        else Flatten(new Node([(k, v)]), path + ".", into);
                    break;
                case Node child: Flatten(child, path + ".", into); break;
                case List<object> list:
                    for (int i = 0; i < list.Count; i++) Flatten((Node)list[i], $"{path}.{i}.", into);
                    break;
                default: into.Add(new(path, Scalar(value))); break;
            }
        }
    }

    public static string Scalar(object value) => value switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        string s => NeedsQuotes(s) ? "'" + s.Replace("'", "''") + "'" : s,
        _ => value.ToString() ?? "",
    };

    private static bool NeedsQuotes(string s) =>
        s.Length == 0 || s.IndexOfAny([':', '#', '{', '}', '[', ']', ',', '\'', '"', '&', '*', '!', '|', '>', '%', '@', '`']) >= 0
        || char.IsWhiteSpace(s[0]) || char.IsWhiteSpace(s[^1]) || s is "true" or "false" or "null" or "~" or "yes" or "no"
        || double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}
