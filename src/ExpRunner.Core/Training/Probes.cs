using System.Numerics;
using System.Numerics.Tensors;
using ExpRunner.Config;
using ExpRunner.Nn;

namespace ExpRunner.Training;

/// <summary>A histogram of one tensor at an epoch's end: <see cref="Counts"/> over equal bins from <see cref="Low"/> to <see cref="High"/> (the tensor's least and greatest values).</summary>
public sealed record Histogram(int Layer, string Tensor, string Of, double Low, double High, long[] Counts);

/// <summary>The probes' columns for layers of these activations, and where each layer's norms and activation columns start.</summary>
public static class ProbeLayout
{
    public static (List<string> Columns, (int Norms, int Activations, string Kind)[] At) Of(IReadOnlyList<string> activations, ProbesConfig config)
    {
        var columns = new List<string>();
        var at = new (int, int, string)[activations.Count];
        for (int l = 0; l < activations.Count; l++)
        {
            string kind = activations[l], p = $"layer{l}.";
            int norms = columns.Count;
            if (config.Norms)
                foreach (var tensor in (string[])["weight", "bias"])
                    columns.AddRange([p + tensor + ".grad_norm", p + tensor + ".norm", p + tensor + ".update_norm", p + tensor + ".update_ratio"]);
            int acts = columns.Count;
            if (config.Activations)
            {
                if (kind == "relu") columns.Add(p + "dead");
                if (kind is "sigmoid" or "tanh") columns.Add(p + "saturated");
                columns.AddRange([p + "pre_mean", p + "pre_std"]);
            }
            at[l] = (norms, acts, kind);
        }
        return (columns, at);
    }

    /// <summary>The columns a config's probes add to steps.csv.gz (none without probes).</summary>
    public static IReadOnlyList<string> Of(ExperimentConfig config) =>
        config.Probes is { } p ? Of(config.Model.Layers.Select(l => SnakeNames<ActivationKind>.Of(l.Activation)).ToList(), p).Columns : [];
}

/// <summary>
/// The probes of `probes:`, measured inside the step where the trainer has everything at hand. Per layer
/// l (from 0), as columns named `layer{l}.…`:
/// <list type="bullet">
/// <item>norms — `weight.grad_norm` ‖g‖ of the loss's gradient after the batch reduction (what mean vs
/// sum changes; weight decay not included), `weight.norm` ‖w‖ before the update, `weight.update_norm`
/// ‖Δw‖ of the update the optimizer made, `weight.update_ratio` ‖Δw‖/‖w‖ (empty when ‖w‖ = 0); the same
/// for `bias.…` — all Euclidean (Frobenius) norms;</item>
/// <item>activations, on the step's batch — `dead` (relu layers): the fraction of units whose output is
/// zero for every example; `saturated` (sigmoid, tanh): the fraction of units whose derivative is below
/// 1 % of its largest (σ′ &lt; 0.0025, tanh′ &lt; 0.01) for every example — units that pass no gradient
/// back for any example of the batch; `pre_mean`, `pre_std`: mean and (population) standard deviation
/// of the pre-activations z = x·Wᵀ + b over the batch's examples and the layer's units.</item>
/// </list>
/// Computed in the run's precision (float32 runs: float32 sums) and reported as doubles.
/// </summary>
public sealed class Probes<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Below this fraction of its largest derivative a sigmoid or tanh unit counts as saturated.</summary>
    public const double SaturationThreshold = 0.01;

    private readonly Network<T> _net;
    private readonly ProbesConfig _config;
    private readonly T[][] _before = [];
    private readonly T[] _scratch;
    private readonly bool[] _passes;
    private readonly double[] _values;
    private readonly (int Norms, int Activations, string Kind)[] _at;
    private double _wScale = 1, _bScale = 1;

    public IReadOnlyList<string> Columns { get; }
    public int Every => _config.EverySteps;
    public bool Histograms => _config.Histograms;

    public Probes(Network<T> net, ProbesConfig config)
    {
        _net = net; _config = config;
        (var columns, _at) = ProbeLayout.Of(net.Layers.Select(l => l.Activation.Name).ToList(), config);
        Columns = columns;
        _values = new double[columns.Count];
        if (config.Norms) _before = net.Layers.SelectMany(l => new[] { new T[l.W.Length], new T[l.B.Length] }).ToArray();
        _scratch = new T[config.Activations ? net.Layers.Max(l => l.Out) * net.Capacity : 0];
        _passes = new bool[net.Layers.Max(l => l.Out)];
    }

    public bool Due(long step) => step % _config.EverySteps == 0;

    /// <summary>After the backward pass of a batch of <paramref name="rows"/>, before the update: gradients, weights, activations.</summary>
    public void BeforeUpdate(int rows, Reduction weights, Reduction biases)
    {
        _wScale = 1 / Optimizer<T>.Divisor(weights, rows);
        _bScale = 1 / Optimizer<T>.Divisor(biases, rows);
        for (int l = 0; l < _net.Layers.Count; l++)
        {
            var layer = _net.Layers[l];
            var (n, a, kind) = _at[l];
            if (_config.Norms)
            {
                _values[n] = Norm(layer.DW) * _wScale;
                _values[n + 1] = Norm(layer.W);
                _values[n + 4] = Norm(layer.DB) * _bScale;
                _values[n + 5] = Norm(layer.B);
                layer.W.CopyTo(_before[2 * l], 0);
                layer.B.CopyTo(_before[2 * l + 1], 0);
            }
            if (_config.Activations) Activations(l, rows, a, kind);
        }
    }

    /// <summary>After the update: its norms and ratios. The values of the step's columns (a copy).</summary>
    public double[] AfterUpdate()
    {
        if (_config.Norms)
            for (int l = 0; l < _net.Layers.Count; l++)
            {
                var layer = _net.Layers[l];
                int n = _at[l].Norms;
                _values[n + 2] = double.CreateChecked(TensorPrimitives.Distance<T>(layer.W, _before[2 * l]));
                _values[n + 3] = _values[n + 1] > 0 ? _values[n + 2] / _values[n + 1] : double.NaN;
                _values[n + 6] = double.CreateChecked(TensorPrimitives.Distance<T>(layer.B, _before[2 * l + 1]));
                _values[n + 7] = _values[n + 5] > 0 ? _values[n + 6] / _values[n + 5] : double.NaN;
            }
        return (double[])_values.Clone();
    }

    private void Activations(int l, int rows, int at, string kind)
    {
        var layer = _net.Layers[l];
        int cols = layer.Out, count = rows * cols;
        var z = _net.PreActivations(l, rows);
        if (kind is "relu" or "sigmoid" or "tanh")
        {
            var passes = _passes.AsSpan(0, cols);
            passes.Clear();
            var a = _net.LayerOutput(l, rows);
            // A unit passes gradient for an example when z > 0 (relu) or its derivative is at least the threshold.
            double limit = kind == "sigmoid" ? 0.25 * SaturationThreshold : SaturationThreshold;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++)
                {
                    if (passes[j]) continue;
                    double v = double.CreateChecked(kind == "relu" ? z[r * cols + j] : a[r * cols + j]);
                    passes[j] = kind switch { "relu" => v > 0, "sigmoid" => v * (1 - v) >= limit, _ => 1 - v * v >= limit };
                }
            int stuck = 0;
            foreach (bool p in passes) if (!p) stuck++;
            _values[at++] = (double)stuck / cols;
        }
        T mean = TensorPrimitives.Sum(z) / T.CreateChecked(count);
        var centred = _scratch.AsSpan(0, count);
        TensorPrimitives.Subtract(z, mean, centred);
        _values[at] = double.CreateChecked(mean);
        _values[at + 1] = Math.Sqrt(double.CreateChecked(TensorPrimitives.SumOfSquares<T>(centred)) / count);
    }

    private static double Norm(ReadOnlySpan<T> x) => double.CreateChecked(TensorPrimitives.Norm(x));

    /// <summary>
    /// Histograms of every layer's weights and biases and of their gradients (the last step's, after the
    /// batch reduction) — <see cref="ProbesConfig.Bins"/> equal bins from each tensor's least to its greatest
    /// value (a tensor of one value: one bin either side of it).
    /// </summary>
    public IReadOnlyList<Histogram> TakeHistograms()
    {
        var all = new List<Histogram>(4 * _net.Layers.Count);
        for (int l = 0; l < _net.Layers.Count; l++)
        {
            var layer = _net.Layers[l];
            all.Add(Of(l, "weight", "value", layer.W, 1));
            all.Add(Of(l, "bias", "value", layer.B, 1));
            all.Add(Of(l, "weight", "gradient", layer.DW, _wScale));
            all.Add(Of(l, "bias", "gradient", layer.DB, _bScale));
        }
        return all;
    }

    private Histogram Of(int layer, string tensor, string of, T[] values, double scale)
    {
        double low = double.CreateChecked(TensorPrimitives.Min<T>(values)) * scale, high = double.CreateChecked(TensorPrimitives.Max<T>(values)) * scale;
        if (!(high > low)) (low, high) = (low - 0.5, high + 0.5);
        var counts = new long[_config.Bins];
        double width = (high - low) / counts.Length;
        foreach (var v in values)
        {
            double x = double.CreateChecked(v) * scale;
            int bin = double.IsFinite(x) ? (int)Math.Clamp(Math.Floor((x - low) / width), 0, counts.Length - 1) : x > 0 ? counts.Length - 1 : 0;
            counts[bin]++;
        }
        return new Histogram(layer, tensor, of, low, high, counts);
    }
}
