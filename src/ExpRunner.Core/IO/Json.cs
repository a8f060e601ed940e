using System.Text.Json;
using System.Text.Json.Serialization;

namespace ExpRunner.IO;

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
    };

    /// <summary>The same convention on one line (event logs).</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options) + "\n";
    public static T? Deserialize<T>(string text) => JsonSerializer.Deserialize<T>(text, Options);
}
