using ExpRunner.Tracking;

namespace ExpRunner.Plots;

/// <summary>
/// Loss and accuracy per epoch: of one run (every split), or overlaid for several runs or groups —
/// the judged split (validation, else test) solid, train dashed (left out beyond six curves, to keep
/// the chart readable); a group's curve is the mean over its runs, with a band from the lowest to
/// the highest of them.
/// </summary>
public static class LearningCurves
{
    private static readonly string[] Splits = ["train", "validation", "test"];

    public static string ForRun(string title, IReadOnlyList<MetricRow> metrics)
    {
        var present = Splits.Where(s => metrics.Any(m => m.Split == s)).ToList();
        Series Make(string split, Func<MetricRow, double> value) =>
            new(split, metrics.Where(m => m.Split == split).Select(m => ((double)m.Epoch, value(m))).ToList(), Array.IndexOf(Splits, split), split == "train");
        return SvgChart.Render(title, [
            new Panel("Loss", "epoch", "loss (mean per example)", present.Select(s => Make(s, m => m.Loss)).ToList()) { LogWhenWide = true },
            new Panel("Accuracy", "epoch", "accuracy", present.Select(s => Make(s, m => m.Accuracy)).ToList()),
        ]);
    }

    /// <summary>
    /// Every training step of a run: the batch's loss (a log axis when it spans more than 100×), its
    /// accuracy and the learning rate, each decimated to the lowest and highest point of every pixel
    /// column (<see cref="Envelope"/>), so no spike is lost however many steps there are.
    /// </summary>
    public static string Steps(string title, IReadOnlyList<Training.StepMetrics> steps)
    {
        Series Make(string label, Func<Training.StepMetrics, double> value, int style) =>
            new(label, Envelope.MinMax(steps.Select(s => ((double)s.Step, value(s))).ToList()), style);
        return SvgChart.Render(title, [
            new Panel("Loss per step", "step", "batch loss (mean per example)", [Make("train batch", s => s.Loss, 0)]) { LogWhenWide = true },
            new Panel("Accuracy per step", "step", "batch accuracy", [Make("train batch", s => s.Accuracy, 0)]),
            new Panel("Learning rate", "step", "learning rate", [Make("learning rate", s => s.LearningRate, 2)]),
        ]);
    }

    /// <summary>
    /// One curve per entry (a run, or a group's mean per epoch over its runs with their spread);
    /// <paramref name="endMarks"/>: entries whose curves stop on purpose (a pruned trial) and why — an × ends them.
    /// </summary>
    public static string Overlay(string title, IReadOnlyList<(string Label, IReadOnlyList<IReadOnlyList<MetricRow>> Runs)> entries,
        IReadOnlyDictionary<int, string>? endMarks = null)
    {
        var loss = new List<Series>();
        var accuracy = new List<Series>();
        bool withTrain = entries.Count <= 6;
        for (int i = 0; i < entries.Count; i++)
        {
            var (label, runs) = entries[i];
            string judged = runs.Any(r => r.Any(m => m.Split == "validation")) ? "validation" : "test";
            foreach (var split in withTrain ? [judged, "train"] : new[] { judged })
            {
                var byEpoch = runs.SelectMany(r => r.Where(m => m.Split == split)).GroupBy(m => m.Epoch).OrderBy(g => g.Key).ToList();
                if (byEpoch.Count == 0) continue;
                string name = $"{label} ({split})";
                bool band = runs.Count > 1;
                string? mark = endMarks?.GetValueOrDefault(i);
                loss.Add(new Series(name, byEpoch.Select(g => ((double)g.Key, g.Average(m => m.Loss))).ToList(), i, split == "train")
                    { Band = band ? byEpoch.Select(g => ((double)g.Key, g.Min(m => m.Loss), g.Max(m => m.Loss))).ToList() : null, EndMark = mark });
                accuracy.Add(new Series(name, byEpoch.Select(g => ((double)g.Key, g.Average(m => m.Accuracy))).ToList(), i, split == "train")
                    { Band = band ? byEpoch.Select(g => ((double)g.Key, g.Min(m => m.Accuracy), g.Max(m => m.Accuracy))).ToList() : null, EndMark = mark });
            }
        }
        return SvgChart.Render(title, [
            new Panel("Loss", "epoch", "loss (mean per example)", loss) { LogWhenWide = true },
            new Panel("Accuracy", "epoch", "accuracy", accuracy),
        ]);
    }

    /// <summary>
    /// Per-step curves of several runs or groups, one panel per series (batch loss, batch accuracy, each probe asked for):
    /// a run's curve decimated by its min/max envelope, a group's as the mean over its runs at each step with a band
    /// from the lowest to the highest — every pixel column keeping its extremes.
    /// </summary>
    public static string StepOverlay(string title, IReadOnlyList<(string Label, IReadOnlyList<StepRecord> Runs)> entries, IReadOnlyList<string> series)
    {
        var panels = new List<Panel>();
        foreach (string name in series)
        {
            var lines = new List<Series>();
            for (int i = 0; i < entries.Count; i++)
            {
                var (label, runs) = entries[i];
                var curves = runs.Select(r => (IReadOnlyList<(double X, double Y)>)StepValues(r, name)).Where(c => c.Count > 0).ToList();
                if (curves.Count == 0) continue;
                if (curves.Count == 1) { lines.Add(new Series(label, Envelope.MinMax(curves[0]), i)); continue; }
                var band = Envelope.Band(Envelope.Across(curves));
                lines.Add(new Series(label, [.. band.Select(p => (p.X, p.Mean))], i) { Band = [.. band.Select(p => (p.X, p.Low, p.High))] });
            }
            string yLabel = name switch { "batch_loss" => "batch loss (mean per example)", "batch_accuracy" => "batch accuracy", "learning_rate" => "learning rate", _ => name };
            panels.Add(new Panel(name switch { "batch_loss" => "Loss per step", "batch_accuracy" => "Accuracy per step", "learning_rate" => "Learning rate", _ => name }, "step", yLabel, lines)
                {
                    LogWhenWide = name is "batch_loss" || name.EndsWith("norm", StringComparison.Ordinal) || name.EndsWith("ratio", StringComparison.Ordinal),
                    WideSpan = name is "batch_loss" ? 100 : 10,
                });
        }
        return SvgChart.Render(title, panels);
    }

    /// <summary>One per-step series of a record: batch_loss, batch_accuracy, learning_rate, or a probe column (its probed steps).</summary>
    public static List<(double X, double Y)> StepValues(StepRecord record, string name)
    {
        switch (name)
        {
            case "batch_loss": return [.. record.Steps.Select(s => ((double)s.Step, s.Loss))];
            case "batch_accuracy": return [.. record.Steps.Select(s => ((double)s.Step, s.Accuracy))];
            case "learning_rate": return [.. record.Steps.Select(s => ((double)s.Step, s.LearningRate))];
        }
        int column = record.ProbeColumns.ToList().IndexOf(name);
        return column < 0 ? [] : [.. record.Steps.Where(s => s.Probes is not null).Select(s => ((double)s.Step, s.Probes![column]))];
    }

    /// <summary>A learning-rate range test: each step's loss and its smoothed curve against the learning rate (log axes), with the suggestions marked.</summary>
    public static string RangeTest(string title, IReadOnlyList<(double Lr, double Loss, double Smoothed)> points, double? steepest, double? minimum, double? diverged)
    {
        string G(double v) => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture);
        var marks = new List<(double, string)>();
        if (steepest is { } s) marks.Add((s, $"steepest {G(s)}"));
        if (minimum is { } m) marks.Add((m, $"minimum/10 {G(m)}"));
        if (diverged is { } d) marks.Add((d, $"diverged {G(d)}"));
        return SvgChart.Render(title, [
            new Panel("Loss against the learning rate", "learning rate", "loss (mean per example)", [
                new Series("batch loss", [.. points.Select(p => (p.Lr, p.Loss))], 7) { },
                new Series("smoothed", [.. points.Select(p => (p.Lr, p.Smoothed))], 0),
            ]) { LogX = true, LogWhenWide = true, Marks = marks },
        ]);
    }
}
