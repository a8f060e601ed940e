using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExpRunner.Config;

/// <summary>
/// Reads one YAML mapping into typed values. Every problem is added to a shared error list (so all
/// are reported at once) and a sensible value is returned so reading can go on.
/// </summary>
internal sealed class Section
{
    private readonly YamlTree _tree;
    private readonly List<ConfigError> _errors;
    private readonly Dictionary<string, YamlNode> _located;
    private readonly YamlMappingNode? _map;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    public string Path { get; }
    public YamlNode? Node => _map;

    public Section(YamlTree tree, List<ConfigError> errors, Dictionary<string, YamlNode> located, YamlMappingNode? map, string path)
    {
        _tree = tree; _errors = errors; _located = located; _map = map; Path = path;
    }

    public string Key(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>This mapping is a group written short (`optimizer: adam`): its name's errors belong to the group's key.</summary>
    public bool ShortForm => _tree.IsShort(_map);

    public void Error(YamlNode? node, string key, string message) =>
        _errors.Add(new ConfigError(_tree.Locate(node ?? _map), key, message));

    public YamlNode? Get(string key)
    {
        _known.Add(key);
        if (_map is null) return null;
        if (!_map.Children.TryGetValue(new YamlScalarNode(key), out var node)) return null;
        _located[Key(key)] = node;
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: "" or "~" or "null" or "Null" or "NULL" }) return null;
        return node;
    }

    public bool Has(string key) => Get(key) is not null;

    public Section Child(string key, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(_map, Key(key), "is required");
            return new Section(_tree, _errors, _located, null, Key(key));
        }
        if (node is not YamlMappingNode map)
        {
            Error(node, Key(key), $"must be a mapping of keys, got {Describe(node)}");
            return new Section(_tree, _errors, _located, null, Key(key));
        }
        return new Section(_tree, _errors, _located, map, Key(key));
    }

    public Section AsSection(YamlNode node, string path) =>
        new(_tree, _errors, _located, node as YamlMappingNode, path);

    public string? String(string key, string? fallback, IReadOnlyList<string>? allowed = null, bool required = false, string? errorKey = null)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(_map, errorKey ?? Key(key), allowed is null ? "is required" : $"is required; one of {string.Join(", ", allowed)}");
            return fallback;
        }
        if (node is not YamlScalarNode { Value: { } s })
        {
            Error(node, errorKey ?? Key(key), $"must be a single value, got {Describe(node)}");
            return fallback;
        }
        if (allowed is not null && !allowed.Contains(s))
        {
            Error(node, errorKey ?? Key(key), $"'{s}' is not allowed; one of {string.Join(", ", allowed)}{DidYouMean.Suggest(s, allowed)}");
            return fallback;
        }
        return s;
    }

    public double Number(string key, double fallback, Func<double, bool>? valid = null, string requirement = "", bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(_map, Key(key), "is required");
            return fallback;
        }
        if (node is not YamlScalarNode { Value: { } s } ||
            !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
        {
            Error(node, Key(key), $"must be a number, got {Describe(node)}");
            return fallback;
        }
        if (!double.IsFinite(v)) { Error(node, Key(key), $"'{s}' is not a finite number"); return fallback; }
        if (valid is not null && !valid(v)) { Error(node, Key(key), $"must be {requirement}, got {s}"); return fallback; }
        return v;
    }

    public long Integer(string key, long fallback, long min, long max, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(_map, Key(key), "is required");
            return fallback;
        }
        if (node is not YamlScalarNode { Value: { } s } ||
            !long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            Error(node, Key(key), $"must be a whole number between {min} and {max}, got {Describe(node)}");
            return fallback;
        }
        if (v < min || v > max) { Error(node, Key(key), $"must be between {min} and {max}, got {s}"); return fallback; }
        return v;
    }

    public bool Boolean(string key, bool fallback)
    {
        var node = Get(key);
        if (node is null) return fallback;
        if (node is YamlScalarNode { Value: { } s })
        {
            switch (s.ToLowerInvariant())
            {
                case "true" or "yes" or "on": return true;
                case "false" or "no" or "off": return false;
            }
        }
        Error(node, Key(key), $"must be true or false, got {Describe(node)}");
        return fallback;
    }

    /// <summary>Reports every key of this mapping that was never asked for, with a did-you-mean.</summary>
    public void RejectUnknown()
    {
        if (_map is null) return;
        foreach (var (k, v) in _map.Children)
        {
            string name = (k as YamlScalarNode)?.Value ?? "?";
            if (!_known.Contains(name))
            {
                string hint = DidYouMean.Suggest(name, _known);
                // At the top, a key written without its section (learning_rate for training.learning_rate) is named whole.
                if (hint.Length == 0 && Path.Length == 0 && ConfigSchema.KeyPaths().Where(p => p.EndsWith("." + name, StringComparison.Ordinal)).ToList() is { Count: > 0 } whole)
                    hint = $" (did you mean '{string.Join("' or '", whole.Take(3))}'?)";
                Error(k, Key(name), $"unknown key{hint}; allowed here: {string.Join(", ", _known)}");
            }
        }
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s => $"'{Truncate(s.Value ?? "")}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "an alias",
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
