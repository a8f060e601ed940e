using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace ExpRunner.IO;

/// <summary>
/// Serialization code generated at compile time for the records every run and sweep writes and
/// reads (a run starts without building it by reflection); anything else falls back to reflection.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Tracking.RunRecord))]
[JsonSerializable(typeof(Tracking.RunSummary))]
[JsonSerializable(typeof(Tracking.ProcessRef))]
[JsonSerializable(typeof(Tracking.Mlflow.MlflowState))]
[JsonSerializable(typeof(Sweeps.SweepRecord))]
[JsonSerializable(typeof(Sweeps.SweepEvent))]
[JsonSerializable(typeof(Sweeps.TrialMarker))]
[JsonSerializable(typeof(Sweeps.RungEntry))]
internal sealed partial class RecordsJsonContext : JsonSerializerContext;

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
        TypeInfoResolver = JsonTypeInfoResolver.Combine(RecordsJsonContext.Default, new DefaultJsonTypeInfoResolver()),
    };

    /// <summary>The same convention on one line (event logs).</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options) + "\n";
    public static T? Deserialize<T>(string text) => JsonSerializer.Deserialize<T>(text, Options);
}
