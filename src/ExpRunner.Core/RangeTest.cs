using System.Globalization;
using System.Numerics;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Nn;
using ExpRunner.Tracking;

using ExpRunner.Training;

namespace ExpRunner;

/// <summary>
/// The learning-rate range test's settings (`exprunner lr-find`): from <see cref="StartLr"/> to <see cref="EndLr"/>
/// over <see cref="Steps"/> steps, growing exponentially; it stops once the smoothed loss passes
/// <see cref="StopFactor"/> times its lowest (fastai's defaults: 1e-7 to 10 in 100 steps, 4×, smoothing 0.98).
/// </summary>
public sealed record RangeTestSpec(double StartLr = 1e-7, double EndLr = 10, int Steps = 100, double StopFactor = 4, double Beta = 0.98)
{
    public const string Kind = "lr-find";

    public double LearningRate(int step) => StartLr * Math.Pow(EndLr / StartLr, Steps == 1 ? 0 : (double)step / (Steps - 1));
}

/// <summary>
/// Smith's learning-rate range test, as fastai's lr_find: from the config's initial weights, one step per batch at
/// a learning rate growing exponentially, each batch's loss measured before its step and smoothed by an exponential
/// moving average (debiased); it stops when the smoothed loss passes StopFactor × its lowest, or stops being a number.
/// Suggestions: the rate of steepest descent (the most negative slope of the smoothed loss against log10 lr, before
/// its minimum), a tenth of the rate at the minimum, and the rate where it diverged. The run's steps.csv.gz holds
/// every step (with `smoothed_loss`), summary.json the suggestions, lr_find.svg the curve.
/// </summary>
public static class RangeTest
{
    /// <summary>The column the test adds to steps.csv.gz.</summary>
    public static readonly IReadOnlyList<string> Columns = ["smoothed_loss"];
    public const string PlotFile = "lr_find.svg";

    public sealed record Result(IReadOnlyList<(double Lr, double Loss, double Smoothed)> Points, double? SteepestLr, double? MinimumLr, double? DivergedLr, string Reason)
    {
        /// <summary>Where the test stopped (the smoothed loss past its stop line, or not a number).</summary>
        public double? StoppedLr { get; init; }
    }

    public static TrainingOutcome Run<T>(Network<T> net, Loss<T> loss, Optimizer<T> optimizer, ExperimentConfig config, DataSplits data, RangeTestSpec spec,
        RunRecorder recorder, CancellationToken cancel) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = config.Training.BatchSize, n = data.Train.Count, batches = (n + batch - 1) / batch;
        var x = new Aligned<T>(Math.Min(batch, n) * net.Inputs);
        var y = new T[Math.Min(batch, n) * net.Outputs];
        int[] order = (int[])data.Train.Indices.Clone();
        var shuffle = new Rng(Rng.Derive(config.Seed, "shuffle"));
        var points = new List<(double Lr, double Loss, double Smoothed)>(spec.Steps);
        double average = 0, best = double.PositiveInfinity;
        double? diverged = null;
        string reason = $"reached the last rate, {spec.EndLr.ToString("G4", CultureInfo.InvariantCulture)}, without diverging";
        recorder.Log.Information("Learning-rate range test: {Steps} steps from {Start} to {End}, stopping at {Factor}× the lowest smoothed loss",
            spec.Steps, spec.StartLr, spec.EndLr, spec.StopFactor);
        for (int i = 0; i < spec.Steps; i++)
        {
            if (cancel.IsCancellationRequested)
                return new TrainingOutcome(TrainingEnd.Cancelled, 0, i, $"interrupted at step {i + 1} of the range test");
            int b = i % batches, epoch = i / batches + 1;
            if (b == 0 && config.Training.Shuffle) shuffle.Shuffle<int>(order);
            int start = b * batch, rows = Math.Min(batch, n - start);
            data.Train.Data.FillBatch<T>(order, start, rows, x, y, net.Outputs, net.InputParts(rows));
            var output = net.Forward(x, rows);
            double batchLoss = net.LossSum(loss, y, rows) / rows;
            double accuracy = (double)Trainer<T>.Correct(output, order.AsSpan(start, rows), data.Train.Data.Labels, net.Outputs) / rows;
            double lr = spec.LearningRate(i);
            average = spec.Beta * average + (1 - spec.Beta) * batchLoss;
            double smoothed = average / (1 - Math.Pow(spec.Beta, i + 1));
            points.Add((lr, batchLoss, smoothed));
            recorder.Steps.Step(new StepMetrics(i + 1, epoch, b + 1, rows, batchLoss, accuracy, lr) { Probes = [smoothed] });
            if (!double.IsFinite(smoothed) || (i > 0 && smoothed > spec.StopFactor * best))
            {
                diverged = lr;
                reason = double.IsFinite(smoothed)
                    ? $"stopped at step {i + 1}, lr {lr.ToString("G4", CultureInfo.InvariantCulture)}: the smoothed loss passed {spec.StopFactor.ToString(CultureInfo.InvariantCulture)}× its lowest"
                    : $"stopped at step {i + 1}, lr {lr.ToString("G4", CultureInfo.InvariantCulture)}: the loss stopped being a number";
                break;
            }
            best = Math.Min(best, smoothed);
            net.Backward(x, y, rows, loss);
            optimizer.Step(net, rows, lr);
        }
        var result = Suggest(points, diverged, reason);
        if (result.SteepestLr is { } steep) recorder.ExtraFinal["steepest_lr"] = steep;
        if (result.MinimumLr is { } min) recorder.ExtraFinal["minimum_lr"] = min;
        if (result.DivergedLr is { } div) recorder.ExtraFinal["diverged_lr"] = div;
        if (result.StoppedLr is { } stop) recorder.ExtraFinal["stopped_lr"] = stop;
        recorder.ExtraFinal["min_smoothed_loss"] = points.Count > 0 ? points.Where(p => double.IsFinite(p.Smoothed)).Select(p => p.Smoothed).DefaultIfEmpty(double.NaN).Min() : double.NaN;
        foreach (var (k, v) in new[] { ("lr_find.start_lr", spec.StartLr), ("lr_find.end_lr", spec.EndLr), ("lr_find.steps", spec.Steps), ("lr_find.stop_factor", spec.StopFactor), ("lr_find.beta", spec.Beta) })
            recorder.ExtraParams[k] = v.ToString(CultureInfo.InvariantCulture);
        recorder.Log.Information("Range test: {Reason}; steepest descent at lr {Steepest}, a tenth of the minimum's lr {Minimum}", reason,
            result.SteepestLr?.ToString("G4", CultureInfo.InvariantCulture) ?? "-", result.MinimumLr?.ToString("G4", CultureInfo.InvariantCulture) ?? "-");
        IO.Atomic.WriteText(recorder.Folder.PathOf(PlotFile), Plots.LearningCurves.RangeTest($"{config.Name}: learning-rate range test",
            result.Points, result.SteepestLr, result.MinimumLr, result.DivergedLr));
        return new TrainingOutcome(TrainingEnd.Finished, 0, points.Count, reason);
    }

    /// <summary>
    /// The suggestions from the curve, its first twentieth left out (fastai's skip_start: the smoothing's first points say
    /// little): the steepest descent of the smoothed loss (per decade of lr) before its minimum, the minimum's rate / 10,
    /// and — when the test stopped on a runaway loss — where the runaway began: the rate of the step after the lowest batch
    /// loss (the smoothed loss, a moving average, crosses its stop line several steps later).
    /// </summary>
    public static Result Suggest(IReadOnlyList<(double Lr, double Loss, double Smoothed)> points, double? stopped, string reason)
    {
        int skip = Math.Max(1, points.Count / 20);
        var finite = points.Skip(skip).Where(p => double.IsFinite(p.Smoothed)).ToList();
        if (finite.Count < 2) return new Result(points, null, null, stopped, reason);
        int minimum = 0;
        for (int i = 1; i < finite.Count; i++) if (finite[i].Smoothed < finite[minimum].Smoothed) minimum = i;
        double? steepest = null, slope = 0;
        for (int i = 1; i <= minimum; i++)
        {
            double s = (finite[i].Smoothed - finite[i - 1].Smoothed) / (Math.Log10(finite[i].Lr) - Math.Log10(finite[i - 1].Lr));
            if (s < slope) (slope, steepest) = (s, Math.Sqrt(finite[i - 1].Lr * finite[i].Lr));
        }
        double? diverged = null;
        if (stopped is not null)
        {
            // The lowest batch loss before the stop is the last point before the runaway: the rate after it.
            int low = 0;
            for (int i = 1; i < points.Count; i++) if (points[i].Loss < points[low].Loss) low = i;
            diverged = low + 1 < points.Count ? points[low + 1].Lr : stopped;
        }
        return new Result(points, steepest, finite[minimum].Lr / 10, diverged, reason) { StoppedLr = stopped };
    }
}
