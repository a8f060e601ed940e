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
    private readonly Network<T> _net = net;
    private readonly Loss<T> _loss = loss;
    private readonly Optimizer<T> _optimizer = optimizer;
    private readonly TrainingConfig _config = config;
    private readonly Rng _shuffleRng = shuffleRng;
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <remarks>
    /// With <paramref name="seat"/> the run trains in a group (<see cref="TrialGroup{T}"/>): the group's
    /// driver takes its steps, batch for batch in step with the others, and this call returns when its
    /// training has ended, however it ended; its results are bit for bit those of training alone.
    /// </remarks>
    public TrainingOutcome Train(DataSplits data, Action<EpochMetrics> onEpoch, Action<BatchProgress>? onBatch, CancellationToken cancel, Checkpointing? checkpoints = null,
        Func<EpochMetrics, string?>? prune = null, IStepObserver? steps = null, Probes<T>? probes = null, TrialGroup<T>.Seat? seat = null)
    {
        if (seat is not null) return seat.Train(() => new Steps(this, data, onEpoch, onBatch, cancel, checkpoints, prune, steps, probes, alone: false));
        var run = new Steps(this, data, onEpoch, onBatch, cancel, checkpoints, prune, steps, probes, alone: true);
        while (run.Next(out int start, out int rows))
        {
            var (x, y) = run.Fill(start, rows);
            if (!run.Forward(x, y, rows, null) || !run.Update(rows)) break;
        }
        return run.Outcome!;
    }

    /// <summary>
    /// One training, a step at a time: <see cref="Next"/> (an epoch begins; cancellation), then for the
    /// batch <see cref="Forward"/> (forward, loss, backward; a divergence) and <see cref="Update"/> (the
    /// optimizer's step; at the epoch's end evaluation, pruning, early stopping, the checkpoint). Alone
    /// they run one after the other; in a group the driver runs each for every member, making the first
    /// layer's products in between. <see cref="Outcome"/> is set when training has ended.
    /// </summary>
    internal sealed class Steps
    {
        private readonly Trainer<T> _t;
        private readonly DataSplits _data;
        private readonly Action<EpochMetrics> _onEpoch;
        private readonly Action<BatchProgress>? _onBatch;
        private readonly CancellationToken _cancel;
        private readonly Checkpointing? _checkpoints;
        private readonly Func<EpochMetrics, string?>? _prune;
        private readonly IStepObserver? _steps;
        private readonly Probes<T>? _probes;
        private readonly Evaluator<T> _evaluator;
        private readonly Stopper? _stopper;
        private readonly Aligned<T> _x;
        private readonly T[] _y;
        private readonly int _batch, _n, _batches;
        private int[] _order;
        private long _step;
        private int _epoch, _b;
        private double _lossSum, _lr, _batchLoss;
        private int _correct, _batchCorrect;
        private readonly Stopwatch _watch = new();

        public TrainingOutcome? Outcome { get; private set; }
        public Network<T> Net => _t._net;
        public int[] Order => _order;
        /// <summary>Whether the next <see cref="Update"/> ends an epoch (evaluation, the sweep's pruning, early stopping, the checkpoint).</summary>
        public bool EndsEpoch => _b + 1 == _batches;

        public Steps(Trainer<T> t, DataSplits data, Action<EpochMetrics> onEpoch, Action<BatchProgress>? onBatch, CancellationToken cancel, Checkpointing? checkpoints,
            Func<EpochMetrics, string?>? prune, IStepObserver? steps, Probes<T>? probes, bool alone)
        {
            (_t, _data, _onEpoch, _onBatch, _cancel, _checkpoints, _prune, _steps, _probes) = (t, data, onEpoch, onBatch, cancel, checkpoints, prune, steps, probes);
            var config = t._config;
            _evaluator = new Evaluator<T>(t._net, t._loss);
            (_batch, _n) = (config.BatchSize, data.Train.Count);
            _batches = (_n + _batch - 1) / _batch;
            // In a group the batch is filled once for all of them.
            _x = new Aligned<T>(alone ? Math.Min(_batch, _n) * t._net.Inputs : 0);
            _y = alone ? new T[Math.Min(_batch, _n) * t._net.Outputs] : [];
            _order = (int[])data.Train.Indices.Clone();
            int first = 1;
            _stopper = config.EarlyStopping is { } es ? new Stopper(es, t._net) : null;
            if (checkpoints is { Resume: true })
            {
                var c = Checkpoint<T>.Read(checkpoints.Path, t._net, t._optimizer, _n);
                (first, _step, t._shuffleRng.State, _order) = (c.Epoch + 1, c.Step, c.Rng, c.Order);
                _stopper?.Load(c);
            }
            _epoch = first - 1;
            _b = _batches; // the next step begins an epoch
        }

        /// <summary>The next batch's rows of <see cref="Order"/> (an epoch begins first if one ended); false when training has ended.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Next(out int start, out int rows)
        {
            (start, rows) = (0, 0);
            if (Outcome is not null) return false;
            var config = _t._config;
            if (_b == _batches)
            {
                if (_epoch >= config.Epochs)
                {
                    Outcome = new TrainingOutcome(TrainingEnd.Finished, config.Epochs, _step, null) { WeightsEpoch = _stopper?.Restore(), BestEpoch = _stopper?.BestEpoch };
                    return false;
                }
                _epoch++;
                _b = 0;
                _watch.Restart();
                if (config.Shuffle) _t._shuffleRng.Shuffle<int>(_order);
                (_lossSum, _lr, _correct) = (0, config.LearningRate, 0);
            }
            if (_cancel.IsCancellationRequested)
            {
                Outcome = new TrainingOutcome(TrainingEnd.Cancelled, _epoch - 1, _step, $"interrupted in epoch {_epoch}, batch {_b + 1}/{_batches}");
                return false;
            }
            start = _b * _batch;
            rows = Math.Min(_batch, _n - start);
            return true;
        }

        /// <summary>The batch filled by this training itself (alone).</summary>
        public (Aligned<T> X, T[] Y) Fill(int start, int rows)
        {
            _data.Train.Data.FillBatch<T>(_order, start, rows, _x, _y, _t._net.Outputs, _t._net.InputParts(rows));
            return (_x, _y);
        }

        /// <summary>Forward, loss and backward of the batch (with <paramref name="shared"/>: the first layer's products are the group's); false if the loss diverged.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows, IFirstLayerShare? shared)
        {
            var net = _t._net;
            int start = _b * _batch;
            var output = net.Forward(x, rows, shared);
            _batchLoss = net.LossSum(_t._loss, y, rows);
            _batchCorrect = Correct(output, _order.AsSpan(start, rows), _data.Train.Data.Labels, net.Outputs);
            _lr = Schedule.At(_t._config, _epoch, _b, _batches);
            if (!double.IsFinite(_batchLoss))
            {
                // The step that diverged is recorded too: where a loss blows up is what the record is for.
                _steps?.Step(new StepMetrics(_step + 1, _epoch, _b + 1, rows, _batchLoss / rows, (double)_batchCorrect / rows, _lr));
                Outcome = new TrainingOutcome(TrainingEnd.Diverged, _epoch - 1, _step,
                    $"loss became {_batchLoss.ToString(System.Globalization.CultureInfo.InvariantCulture)} in epoch {_epoch}, batch {_b + 1}/{_batches} (step {_step + 1})");
                return false;
            }
            _lossSum += _batchLoss;
            _correct += _batchCorrect;
            net.Backward(x, y, rows, _t._loss, shared: shared);
            return true;
        }

        /// <summary>
        /// The optimizer's step on the batch's gradients; at the epoch's end what ends an epoch — or, without
        /// <paramref name="evaluateHere"/>, only the step: the epoch then ends in <see cref="FinishEpoch"/> with
        /// its evaluation made elsewhere (<see cref="EvaluationDue"/>). False when training has ended.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Update(int rows, bool evaluateHere = true)
        {
            var (net, config) = (_t._net, _t._config);
            int start = _b * _batch;
            bool probed = _probes is not null && _probes.Due(_step + 1);
            if (probed) _probes!.BeforeUpdate(rows, config.GradientReduction.Weights, config.GradientReduction.Biases);
            _t._optimizer.Step(net, rows, _lr);
            _step++;
            _steps?.Step(new StepMetrics(_step, _epoch, _b + 1, rows, _batchLoss / rows, (double)_batchCorrect / rows, _lr) { Probes = probed ? _probes!.AfterUpdate() : null });
            _onBatch?.Invoke(new BatchProgress(_epoch, config.Epochs, _b + 1, _batches, _lossSum / (start + rows), (double)_correct / (start + rows)));
            if (++_b < _batches) return true;
            if (!evaluateHere) return EvaluationDue = true;
            Outcome = EndEpoch(null, null);
            return Outcome is null;
        }

        /// <summary>The epoch's last batch has been stepped; its evaluation is to be made (by <see cref="Evaluator"/>, batches filled elsewhere).</summary>
        public bool EvaluationDue { get; private set; }
        public Evaluator<T> Evaluator => _evaluator;
        public DataSplits Data => _data;

        /// <summary>Ends the epoch with its evaluation made elsewhere (the same passes <see cref="Evaluator"/> would make). False when training has ended.</summary>
        public bool FinishEpoch(Evaluation? validation, Evaluation test)
        {
            if (!EvaluationDue) throw new InvalidOperationException("no epoch is waiting for its evaluation");
            EvaluationDue = false;
            Outcome = EndEpoch(validation, test);
            return Outcome is null;
        }

        private TrainingOutcome? EndEpoch(Evaluation? validation, Evaluation? test)
        {
            var (net, config, epoch) = (_t._net, _t._config, _epoch);
            if (_probes is { Histograms: true }) _steps?.Histograms(epoch, _step, _probes.TakeHistograms());
            var splits = new List<SplitMetrics>(3) { new("train", _lossSum / _n, (double)_correct / _n) };
            if (_data.Validation is not null) splits.Add(validation is { } v ? new SplitMetrics(_data.Validation.Name, v.Loss, v.Accuracy) : Measure(_evaluator, _data.Validation));
            splits.Add(test is { } e ? new SplitMetrics(_data.Test.Name, e.Loss, e.Accuracy) : Measure(_evaluator, _data.Test));
            // The learning rate column: the rate of the epoch's last step.
            var metrics = new EpochMetrics(epoch, _step, _lr, _watch.Elapsed.TotalSeconds, splits) { Timestamp = _t._clock.GetUtcNow() };
            _onEpoch(metrics);
            // A sweep's pruning decides at its rungs (a non-finite metric is reported there as a divergence).
            string? pruned = _prune?.Invoke(metrics);
            foreach (var s in splits)
                if (!double.IsFinite(s.Loss))
                    return new TrainingOutcome(TrainingEnd.Diverged, epoch, _step, $"{s.Split} loss became {s.Loss} after epoch {epoch}");
            if (pruned is not null)
                return new TrainingOutcome(TrainingEnd.Pruned, epoch, _step, pruned) { WeightsEpoch = _stopper?.Restore() ?? epoch, BestEpoch = _stopper?.BestEpoch };
            if (_stopper is not null && _stopper.After(epoch, metrics) is { } reason)
                return new TrainingOutcome(TrainingEnd.Finished, epoch, _step, reason) { WeightsEpoch = _stopper.Restore(), BestEpoch = _stopper.BestEpoch };
            if (_checkpoints is not null && epoch < config.Epochs)
                new Checkpoint<T>
                {
                    Epoch = epoch, Step = _step, OptimizerSteps = _t._optimizer.Steps, Rng = _t._shuffleRng.State, Order = _order,
                    BestValue = _stopper?.BestValue, BestEpoch = _stopper?.BestEpoch ?? 0, BestWeights = _stopper?.Weights,
                }.Write(_checkpoints.Path, net, _t._optimizer, _checkpoints.Network, _checkpoints.Steps?.Invoke());
            return null;
        }
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
