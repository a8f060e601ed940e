using System.Text.Json.Serialization;

namespace ExpRunner.Tracking;

/// <summary>Serialization code generated at compile time for the records of a run folder (in IO.Json's convention).</summary>
[JsonSerializable(typeof(RunRecord))]
[JsonSerializable(typeof(RunSummary))]
[JsonSerializable(typeof(ProcessRef))]
[JsonSerializable(typeof(Mlflow.MlflowState))]
internal sealed partial class TrackingJson : JsonSerializerContext
{
    public static TrackingJson Indented { get; } = new(IO.Json.ForContext(compact: false));
    public static TrackingJson OneLine { get; } = new(IO.Json.ForContext(compact: true));
    public static TrackingJson Of(bool compact) => compact ? OneLine : Indented;
}
