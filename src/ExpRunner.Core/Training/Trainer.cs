using System.Diagnostics;
using System.Numerics;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Nn;

namespace ExpRunner.Training;

/// <summary>Metrics of one split after an epoch.</summary>
public sealed record SplitMetrics(string Split, double Loss, double Accuracy);

public sealed record EpochMetrics(int Epoch, long Step, double LearningRate, double Seconds, IReadOnlyList<SplitMetrics> Splits)
{
    /// <summary>When the epoch ended (wall clock).</summary>
    public required DateTimeOffset Timestamp { get; init; }
    public SplitMetrics? this[string split] => Splits.FirstOrDefault(s => s.Split == split);
}

public readonly record struct BatchProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double Accuracy);

public enum TrainingEnd { Finished, Diverged, Cancelled }

public sealed record TrainingOutcome(TrainingEnd End, int EpochsCompleted, long Steps, string? Reason);

/// <summary>
/// The training loop: epochs × batches of forward, backward, step. Train loss and accuracy are
/// the means over the epoch's batches (measured before each step); validation and test are
/// evaluated after each epoch. A non-finite loss stops training as diverged.
/// </summary>
public sealed class Trainer<T>(Network<T> net, Loss<T> loss, Sgd<T> optimizer, TrainingConfig config, Rng shuffleRng, TimeProvider? clock = null)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public TrainingOutcome Train(DataSplits data, Action<EpochMetrics> onEpoch, Action<BatchProgress>? onBatch, CancellationToken cancel)
    {
        var evaluator = new Evaluator<T>(net, loss);
        int batch = config.BatchSize, n = data.Train.Count, batches = (n + batch - 1) / batch;
        var x = new T[Math.Min(batch, n) * net.Inputs];
        var y = new T[Math.Min(batch, n) * net.Outputs];
        int[] order = (int[])data.Train.Indices.Clone();
        long step = 0;
        for (int epoch = 1; epoch <= config.Epochs; epoch++)
        {
            var watch = Stopwatch.StartNew();
            if (config.Shuffle) shuffleRng.Shuffle<int>(order);
            double lossSum = 0;
            int correct = 0;
            for (int b = 0; b < batches; b++)
            {
                if (cancel.IsCancellationRequested)
                    return new TrainingOutcome(TrainingEnd.Cancelled, epoch - 1, step, $"interrupted in epoch {epoch}, batch {b + 1}/{batches}");
                int start = b * batch, rows = Math.Min(batch, n - start);
                data.Train.Data.FillBatch<T>(order.AsSpan(start, rows), x, y, net.Outputs);
                var output = net.Forward(x, rows);
                double batchLoss = net.LossSum(loss, y, rows);
                if (!double.IsFinite(batchLoss))
                    return new TrainingOutcome(TrainingEnd.Diverged, epoch - 1, step,
                        $"loss became {batchLoss.ToString(System.Globalization.CultureInfo.InvariantCulture)} in epoch {epoch}, batch {b + 1}/{batches} (step {step + 1})");
                lossSum += batchLoss;
                correct += Correct(output, order.AsSpan(start, rows), data.Train.Data.Labels, net.Outputs);
                net.Backward(x, y, rows, loss);
                optimizer.Step(net, rows);
                step++;
                onBatch?.Invoke(new BatchProgress(epoch, config.Epochs, b + 1, batches, lossSum / (start + rows), (double)correct / (start + rows)));
            }
            var splits = new List<SplitMetrics>(3) { new("train", lossSum / n, (double)correct / n) };
            if (data.Validation is not null) splits.Add(Measure(evaluator, data.Validation));
            splits.Add(Measure(evaluator, data.Test));
            var metrics = new EpochMetrics(epoch, step, config.LearningRate, watch.Elapsed.TotalSeconds, splits) { Timestamp = (clock ?? TimeProvider.System).GetUtcNow() };
            onEpoch(metrics);
            foreach (var s in splits)
                if (!double.IsFinite(s.Loss))
                    return new TrainingOutcome(TrainingEnd.Diverged, epoch, step, $"{s.Split} loss became {s.Loss} after epoch {epoch}");
        }
        return new TrainingOutcome(TrainingEnd.Finished, config.Epochs, step, null);
    }

    private static SplitMetrics Measure(Evaluator<T> evaluator, DataSplit split)
    {
        var e = evaluator.Evaluate(split);
        return new SplitMetrics(split.Name, e.Loss, e.Accuracy);
    }

    private static int Correct(ReadOnlySpan<T> output, ReadOnlySpan<int> examples, int[] labels, int outputs)
    {
        int correct = 0;
        for (int r = 0; r < examples.Length; r++)
            if (Evaluator<T>.Predict(output.Slice(r * outputs, outputs)) == labels[examples[r]]) correct++;
        return correct;
    }
}
