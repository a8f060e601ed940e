using System.Text.Json.Serialization;

namespace ExpRunner.Sweeps;

/// <summary>Serialization code generated at compile time for the records of a sweep folder (in IO.Json's convention).</summary>
[JsonSerializable(typeof(SweepRecord))]
[JsonSerializable(typeof(SweepEvent))]
[JsonSerializable(typeof(TrialMarker))]
[JsonSerializable(typeof(RungEntry))]
internal sealed partial class SweepsJson : JsonSerializerContext
{
    public static SweepsJson Indented { get; } = new(IO.Json.ForContext(compact: false));
    public static SweepsJson OneLine { get; } = new(IO.Json.ForContext(compact: true));
    public static SweepsJson Of(bool compact) => compact ? OneLine : Indented;
}
