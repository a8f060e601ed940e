using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace ExpRunner.IO;

/// <summary>
/// A record whose serialization code is generated at compile time (a run starts without building it
/// by reflection) by the layer that owns it: Tracking's records in <c>TrackingJson</c>, the sweeps'
/// in <c>SweepsJson</c>, each made with <see cref="Json.Options"/>.
/// </summary>
public interface IJsonRecord<TSelf> where TSelf : IJsonRecord<TSelf>
{
    static abstract JsonTypeInfo<TSelf> JsonInfo(bool compact);
}

/// <summary>The one JSON convention of every file we write and read: snake_case, indented, invariant, nulls left out.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    /// <summary>The same convention on one line (event logs).</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    /// <summary>A record as its file holds it (indented, with a final newline).</summary>
    public static string Serialize<T>(T value) where T : IJsonRecord<T> => JsonSerializer.Serialize(value, T.JsonInfo(compact: false)) + "\n";

    /// <summary>A record as one line of a log (no newline).</summary>
    public static string Line<T>(T value) where T : IJsonRecord<T> => JsonSerializer.Serialize(value, T.JsonInfo(compact: true));

    public static T? Deserialize<T>(string text) where T : IJsonRecord<T> => JsonSerializer.Deserialize(text, T.JsonInfo(compact: false));

    /// <summary>Anything else (a command's --json answer), by reflection, in the same convention.</summary>
    public static string SerializeAny(object value) => JsonSerializer.Serialize(value, Options) + "\n";

    /// <summary>Options of a layer's generated context: this convention (copied, so the context can own them).</summary>
    public static JsonSerializerOptions ForContext(bool compact) => new(compact ? Compact : Options) { TypeInfoResolver = null };
}
