using System.Globalization;
using System.Reflection;
using System.Text;

namespace ExpRunner.Config;

/// <summary>
/// A setting of a config kind, declared on its property: what it does and the range it must lie in.
/// The key is the property's name in snake_case; the default is the property's initial value.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SettingAttribute(string doc) : Attribute
{
    public string Doc => doc;
    public double Min { get; init; } = double.NegativeInfinity;
    public double Max { get; init; } = double.PositiveInfinity;
    /// <summary>The range excludes <see cref="Min"/> (a value must be greater).</summary>
    public bool AboveMin { get; init; }
    /// <summary>The range excludes <see cref="Max"/> (a value must be less).</summary>
    public bool BelowMax { get; init; }
    /// <summary>A text setting: the values it may take.</summary>
    public string[]? Choices { get; init; }
    /// <summary>The setting must be given (it has no default).</summary>
    public bool Required { get; init; }
}

/// <summary>The name a kind is chosen by in a config (`optimizer: adam`), how the log calls it, and what it is.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class KindAttribute(string name, string display, string doc) : Attribute
{
    public string Name => name;
    public string Display => display;
    public string Doc => doc;
}

/// <summary>One declared setting: key, type, default, range, doc.</summary>
public sealed record Setting(string Key, PropertyInfo Property, SettingAttribute Declared, object? Default)
{
    private Type Type => Nullable.GetUnderlyingType(Property.PropertyType) ?? Property.PropertyType;
    public bool IsBool => Type == typeof(bool);
    /// <summary>A whole number (int or long).</summary>
    public bool IsInteger => Type == typeof(int) || Type == typeof(long);
    public bool IsLong => Type == typeof(long);
    public bool IsText => Type == typeof(string);

    public bool Allows(double v) =>
        (Declared.AboveMin ? v > Declared.Min : v >= Declared.Min) && (Declared.BelowMax ? v < Declared.Max : v <= Declared.Max);

    /// <summary>The range in words: "in [0, 1)", "> 0", ">= 0", "any number".</summary>
    public string Range
    {
        get
        {
            if (IsBool) return "true or false";
            if (IsText) return Declared.Choices is null ? "any text" : "one of " + string.Join(", ", Declared.Choices);
            bool low = double.IsFinite(Declared.Min), high = double.IsFinite(Declared.Max) && Declared.Max < int.MaxValue;
            string F(double v) => v.ToString(CultureInfo.InvariantCulture);
            return (low, high) switch
            {
                (true, true) => $"in {(Declared.AboveMin ? "(" : "[")}{F(Declared.Min)}, {F(Declared.Max)}{(Declared.BelowMax ? ")" : "]")}",
                (true, false) => $"{(Declared.AboveMin ? ">" : ">=")} {F(Declared.Min)}",
                (false, true) => $"{(Declared.BelowMax ? "<" : "<=")} {F(Declared.Max)}",
                _ => IsInteger ? "" : "any number",
            };
        }
    }
}

/// <summary>
/// One kind of a config group (an optimizer, say): a record type carrying only its own settings,
/// declared by attributes. What the config's binding, errors, writing, flattening, description, the
/// README's tables and the JSON Schema know of a kind, they read from here.
/// </summary>
public sealed class Kind
{
    public string Name { get; }
    public string Display { get; }
    public string Doc { get; }
    public Type Type { get; }
    public IReadOnlyList<Setting> Settings { get; }
    public object Defaults { get; }

    private Kind(Type type)
    {
        var declared = type.GetCustomAttribute<KindAttribute>() ?? throw new InvalidOperationException($"{type.Name} has no [Kind]");
        (Name, Display, Doc, Type) = (declared.Name, declared.Display, declared.Doc, type);
        Defaults = Activator.CreateInstance(type)!;
        // Its own settings first, then those it shares with its family (a synthetic dataset's, then every dataset's).
        int Distance(Type? declaring) { int d = 0; for (var t = type; t is not null && t != declaring; t = t.BaseType) d++; return d; }
        Settings = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (p, a: p.GetCustomAttribute<SettingAttribute>()))
            .Where(x => x.a is not null)
            .OrderBy(x => Distance(x.p.DeclaringType)).ThenBy(x => x.p.MetadataToken)
            .Select(x => new Setting(SnakeCase(x.p.Name), x.p, x.a!, x.p.GetValue(Defaults)))
            .ToList();
    }

    public static Kind Of(Type type) => new(type);

    public Setting? this[string key] => Settings.FirstOrDefault(s => s.Key == key);

    /// <summary>A value of this kind with the given settings (the others at their defaults).</summary>
    public object Create(IReadOnlyDictionary<string, object> values)
    {
        var value = Activator.CreateInstance(Type)!;
        foreach (var s in Settings)
            if (values.TryGetValue(s.Key, out var v)) s.Property.SetValue(value, v);
        return value;
    }

    /// <summary>The settings of a value of this kind that have a value, in declaration order.</summary>
    public IEnumerable<(Setting Setting, object Value)> Values(object value) =>
        Settings.Select(s => (s, v: s.Property.GetValue(value))).Where(x => x.v is not null).Select(x => (x.s, x.v!));

    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && !char.IsDigit(name[i - 1])) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}

/// <summary>An enum's values as configs and files write them: snake_case names (float32, cross_entropy).</summary>
public static class SnakeNames<TEnum> where TEnum : struct, Enum
{
    public static readonly IReadOnlyList<string> All = Enum.GetValues<TEnum>().Select(Of).ToList();
    public static string Of(TEnum value) => Kind.SnakeCase(value.ToString());
    public static TEnum Parse(string name) => Enum.GetValues<TEnum>().First(v => Of(v) == name);
}

/// <summary>The kinds of one group (every optimizer), chosen by name.</summary>
public sealed class KindSet(string group, string nameKey, IReadOnlyList<Kind> kinds, bool nameIsGroupKey = true)
{
    /// <summary>Whether the kind's name is flattened under the group's own key (training.optimizer=adam) rather than its name key (training.lr_schedule.kind=cosine).</summary>
    public bool NameIsGroupKey => nameIsGroupKey;
    /// <summary>The group's key in the config (training.optimizer).</summary>
    public string Group => group;
    /// <summary>The key naming the kind inside the group's mapping (name, kind).</summary>
    public string NameKey => nameKey;
    public IReadOnlyList<Kind> All => kinds;
    public IReadOnlyList<string> Names { get; } = kinds.Select(k => k.Name).ToList();
    /// <summary>Every setting key of any kind, in first-declared order.</summary>
    public IReadOnlyList<string> Keys { get; } = kinds.SelectMany(k => k.Settings.Select(s => s.Key)).Distinct().ToList();

    public Kind? Named(string name) => kinds.FirstOrDefault(k => k.Name == name);
    public Kind Of(object value) => kinds.First(k => k.Type == value.GetType());

    /// <summary>
    /// The reference table of the group's kinds and their settings (README's, generated from the
    /// declarations: a test keeps the README equal to it).
    /// </summary>
    public string MarkdownTable(string kindColumn)
    {
        var sb = new StringBuilder($"| {kindColumn} | setting | type | default | meaning |\n|---|---|---|---|---|\n");
        foreach (var kind in kinds)
        {
            sb.Append($"| `{kind.Name}` | | | | {kind.Doc} |\n");
            foreach (var s in kind.Settings)
            {
                string type = s.IsBool ? "boolean" : s.IsText ? (s.Declared.Choices is null ? "text" : s.Range) : $"{(s.IsInteger ? "integer" : "number")} {s.Range}".TrimEnd();
                string def = s.Declared.Required ? "required" : s.Default is null ? "none" : $"`{Scalar(s.Default)}`";
                sb.Append($"| | `{s.Key}` | {type} | {def} | {s.Declared.Doc} |\n");
            }
        }
        return sb.ToString();
    }

    private static string Scalar(object? v) => v switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>The kinds that have a setting <paramref name="key"/>.</summary>
    public IReadOnlyList<string> Having(string key) => kinds.Where(k => k[key] is not null).Select(k => k.Name).ToList();
}
