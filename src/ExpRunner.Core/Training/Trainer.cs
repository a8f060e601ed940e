using System.Runtime.CompilerServices;
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

/// <summary>Where checkpoints go, the network's metadata they carry, and <paramref name="Steps"/>: the per-step lines not yet written, kept with them.</summary>
public sealed record Checkpointing(string Path, IReadOnlyDictionary<string, string> Network, bool Resume, Func<string>? Steps = null);

public readonly record struct BatchProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double Accuracy);

public enum TrainingEnd { Finished, Diverged, Cancelled, Pruned }

/// <summary>How training ended; <see cref="WeightsEpoch"/>: the epoch whose weights the network holds (early stopping may restore an earlier one).</summary>
public sealed record TrainingOutcome(TrainingEnd End, int EpochsCompleted, long Steps, string? Reason)
{
    public int? WeightsEpoch { get; init; }
    /// <summary>Early stopping's best epoch (the last that improved by more than min_delta).</summary>
    public int? BestEpoch { get; init; }
}

/// <summary>
/// The training loop: epochs × batches of forward, backward, step (at the schedule's learning rate).
/// Train loss and accuracy are the means over the epoch's batches (measured before each step);
/// validation and test are evaluated after each epoch. A non-finite loss stops training as
/// diverged; early stopping ends it when the watched validation metric stops improving; a sweep's
/// pruning ends it at a rung (PRUNED).
/// </summary>
public sealed class Trainer<T>(Network<T> net, Loss<T> loss, Optimizer<T> optimizer, TrainingConfig config, Rng shuffleRng, TimeProvider? clock = null)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <remarks>
    /// With <paramref name="seat"/> the run trains in a group (<see cref="TrialGroup{T}"/>): batch for batch
    /// in step with the others, its results bit for bit those of training alone; it leaves the group as
    /// soon as its training ends, however it ends.
    /// </remarks>
    public TrainingOutcome Train(DataSplits data, Action<EpochMetrics> onEpoch, Action<BatchProgress>? onBatch, CancellationToken cancel, Checkpointing? checkpoints = null,
        Func<EpochMetrics, string?>? prune = null, IStepObserver? steps = null, Probes<T>? probes = null, TrialGroup<T>.Seat? seat = null)
    {
        try { return Loop(data, onEpoch, onBatch, cancel, checkpoints, prune, steps, probes, seat); }
        finally { seat?.Leave(); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TrainingOutcome Loop(DataSplits data, Action<EpochMetrics> onEpoch, Action<BatchProgress>? onBatch, CancellationToken cancel, Checkpointing? checkpoints,
        Func<EpochMetrics, string?>? prune, IStepObserver? steps, Probes<T>? probes, TrialGroup<T>.Seat? seat)
    {
        var evaluator = new Evaluator<T>(net, loss);
        int batch = config.BatchSize, n = data.Train.Count, batches = (n + batch - 1) / batch;
        // In a group trained together the batch is filled once for all, and the first layer's products are the group's.
        var x = seat is null ? new T[Math.Min(batch, n) * net.Inputs] : [];
        var y = seat is null ? new T[Math.Min(batch, n) * net.Outputs] : [];
        seat?.Join(net);
        int[] order = (int[])data.Train.Indices.Clone();
        long step = 0;
        int first = 1;
        var stopper = config.EarlyStopping is { } es ? new Stopper(es, net) : null;
        if (checkpoints is { Resume: true })
        {
            var c = Checkpoint<T>.Read(checkpoints.Path, net, optimizer, n);
            (first, step, shuffleRng.State, order) = (c.Epoch + 1, c.Step, c.Rng, c.Order);
            stopper?.Load(c);
        }
        for (int epoch = first; epoch <= config.Epochs; epoch++)
        {
            var watch = Stopwatch.StartNew();
            if (config.Shuffle) shuffleRng.Shuffle<int>(order);
            double lossSum = 0, lr = config.LearningRate;
            int correct = 0;
            for (int b = 0; b < batches; b++)
            {
                if (cancel.IsCancellationRequested)
                    return new TrainingOutcome(TrainingEnd.Cancelled, epoch - 1, step, $"interrupted in epoch {epoch}, batch {b + 1}/{batches}");
                int start = b * batch, rows = Math.Min(batch, n - start);
                ReadOnlySpan<T> bx, by;
                if (seat is null)
                {
                    data.Train.Data.FillBatch<T>(order, start, rows, x, y, net.Outputs, net.InputParts(rows));
                    bx = x.AsSpan(0, rows * net.Inputs);
                    by = y.AsSpan(0, rows * net.Outputs);
                }
                else
                {
                    seat.Batch(order, start, rows);
                    bx = seat.Group.X(rows);
                    by = seat.Group.Y(rows);
                }
                var output = net.Forward(bx, rows, seat);
                double batchLoss = net.LossSum(loss, by, rows);
                int batchCorrect = Correct(output, order.AsSpan(start, rows), data.Train.Data.Labels, net.Outputs);
                lr = Schedule.At(config, epoch, b, batches);
                if (!double.IsFinite(batchLoss))
                {
                    // The step that diverged is recorded too: where a loss blows up is what the record is for.
                    steps?.Step(new StepMetrics(step + 1, epoch, b + 1, rows, batchLoss / rows, (double)batchCorrect / rows, lr));
                    return new TrainingOutcome(TrainingEnd.Diverged, epoch - 1, step,
                        $"loss became {batchLoss.ToString(System.Globalization.CultureInfo.InvariantCulture)} in epoch {epoch}, batch {b + 1}/{batches} (step {step + 1})");
                }
                lossSum += batchLoss;
                correct += batchCorrect;
                net.Backward(bx, by, rows, loss, shared: seat);
                bool probed = probes is not null && probes.Due(step + 1);
                if (probed) probes!.BeforeUpdate(rows, config.GradientReduction.Weights, config.GradientReduction.Biases);
                optimizer.Step(net, rows, lr);
                step++;
                steps?.Step(new StepMetrics(step, epoch, b + 1, rows, batchLoss / rows, (double)batchCorrect / rows, lr) { Probes = probed ? probes!.AfterUpdate() : null });
                onBatch?.Invoke(new BatchProgress(epoch, config.Epochs, b + 1, batches, lossSum / (start + rows), (double)correct / (start + rows)));
            }
            if (probes is { Histograms: true }) steps?.Histograms(epoch, step, probes.TakeHistograms());
            var splits = new List<SplitMetrics>(3) { new("train", lossSum / n, (double)correct / n) };
            if (data.Validation is not null) splits.Add(Measure(evaluator, data.Validation));
            splits.Add(Measure(evaluator, data.Test));
            // The learning rate column: the rate of the epoch's last step.
            var metrics = new EpochMetrics(epoch, step, lr, watch.Elapsed.TotalSeconds, splits) { Timestamp = (clock ?? TimeProvider.System).GetUtcNow() };
            onEpoch(metrics);
            // A sweep's pruning decides at its rungs (a non-finite metric is reported there as a divergence).
            string? pruned = prune?.Invoke(metrics);
            foreach (var s in splits)
                if (!double.IsFinite(s.Loss))
                    return new TrainingOutcome(TrainingEnd.Diverged, epoch, step, $"{s.Split} loss became {s.Loss} after epoch {epoch}");
            if (pruned is not null)
                return new TrainingOutcome(TrainingEnd.Pruned, epoch, step, pruned) { WeightsEpoch = stopper?.Restore() ?? epoch, BestEpoch = stopper?.BestEpoch };
            if (stopper is not null && stopper.After(epoch, metrics) is { } reason)
                return new TrainingOutcome(TrainingEnd.Finished, epoch, step, reason) { WeightsEpoch = stopper.Restore(), BestEpoch = stopper.BestEpoch };
            if (checkpoints is not null && epoch < config.Epochs)
                new Checkpoint<T>
                {
                    Epoch = epoch, Step = step, OptimizerSteps = optimizer.Steps, Rng = shuffleRng.State, Order = order,
                    BestValue = stopper?.BestValue, BestEpoch = stopper?.BestEpoch ?? 0, BestWeights = stopper?.Weights,
                }.Write(checkpoints.Path, net, optimizer, checkpoints.Network, checkpoints.Steps?.Invoke());
        }
        return new TrainingOutcome(TrainingEnd.Finished, config.Epochs, step, null) { WeightsEpoch = stopper?.Restore(), BestEpoch = stopper?.BestEpoch };
    }

    /// <summary>
    /// Early stopping: an epoch improves when the watched metric beats the best so far by more than
    /// min_delta; after patience epochs without one, training stops. With restore_best the weights
    /// of the best epoch are kept (copied when it ends) and put back at the end.
    /// </summary>
    private sealed class Stopper(EarlyStopping rule, Network<T> net)
    {
        private double _best = double.NaN;
        private int _bestEpoch, _last;
        private T[][]? _weights;
        public int BestEpoch => _bestEpoch;
        public double? BestValue => double.IsNaN(_best) ? null : _best;
        public T[][]? Weights => _weights;

        /// <summary>Continues from a checkpoint's best so far.</summary>
        public void Load(Checkpoint<T> c)
        {
            _best = c.BestValue ?? double.NaN;
            _bestEpoch = c.BestEpoch;
            _last = c.Epoch;
            _weights = c.BestWeights;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public string? After(int epoch, EpochMetrics m)
        {
            _last = epoch;
            var v = m["validation"] ?? throw new InvalidOperationException("early stopping needs a validation split");
            double value = rule.HigherIsBetter ? v.Accuracy : v.Loss;
            bool better = double.IsNaN(_best) || (rule.HigherIsBetter ? value > _best + rule.MinDelta : value < _best - rule.MinDelta);
            if (better)
            {
                _best = value;
                _bestEpoch = epoch;
                if (rule.RestoreBest)
                {
                    _weights ??= net.Layers.SelectMany(l => new[] { new T[l.W.Length], new T[l.B.Length] }).ToArray();
                    for (int l = 0; l < net.Layers.Count; l++) { net.Layers[l].W.CopyTo(_weights[2 * l], 0); net.Layers[l].B.CopyTo(_weights[2 * l + 1], 0); }
                }
                return null;
            }
            return epoch - _bestEpoch >= rule.Patience
                ? $"early stop at epoch {epoch} (best {_bestEpoch}: {rule.Metric} {_best.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)})"
                : null;
        }

        /// <summary>Puts the best epoch's weights back (restore_best); the epoch whose weights the network now holds.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Restore()
        {
            if (!rule.RestoreBest || _weights is null || _bestEpoch == _last) return _last;
            for (int l = 0; l < net.Layers.Count; l++) { _weights[2 * l].CopyTo(net.Layers[l].W, 0); _weights[2 * l + 1].CopyTo(net.Layers[l].B, 0); }
            return _bestEpoch;
        }
    }

    private static SplitMetrics Measure(Evaluator<T> evaluator, DataSplit split)
    {
        var e = evaluator.Evaluate(split);
        return new SplitMetrics(split.Name, e.Loss, e.Accuracy);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Correct(ReadOnlySpan<T> output, ReadOnlySpan<int> examples, int[] labels, int outputs)
    {
        int correct = 0;
        for (int r = 0; r < examples.Length; r++)
            if (Evaluator<T>.Predict(output.Slice(r * outputs, outputs)) == labels[examples[r]]) correct++;
        return correct;
    }
}
