namespace ExpRunner.Tracking;

/// <summary>
/// How anything is chosen among epochs or runs (the best epoch, a sweep's best trial): on validation accuracy, or —
/// when there is no validation split — on training loss. Never on the test set: a choice made on it would leak the
/// test set into the result it reports.
/// </summary>
public static class ModelSelection
{
    public const string Rule = "chosen on validation accuracy, or on training loss without a validation split — never on the test set";

    /// <summary>The metric a run's final metrics are judged by, its value, and whether higher is better; null when it has neither.</summary>
    public static (string Metric, double Value, bool HigherIsBetter)? Of(IReadOnlyDictionary<string, double> final) =>
        final.TryGetValue("validation_accuracy", out double va) && !double.IsNaN(va) ? ("validation_accuracy", va, true)
        : final.TryGetValue("train_loss", out double tl) && !double.IsNaN(tl) ? ("train_loss", tl, false)
        : null;

    /// <summary>A score where higher is better (the judged metric, negated for a loss), for ordering runs; null when there is none.</summary>
    public static double? Score(IReadOnlyDictionary<string, double> final) =>
        Of(final) is { } s ? (s.HigherIsBetter ? s.Value : -s.Value) : null;

    /// <summary>The short label of a judged metric (val acc, train loss).</summary>
    public static string Short(string metric) => metric switch
    {
        "validation_accuracy" => "val acc", "validation_loss" => "val loss", "train_loss" => "train loss", _ => metric,
    };
}
