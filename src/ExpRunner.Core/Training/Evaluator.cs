using System.Runtime.CompilerServices;
using System.Numerics;
using ExpRunner.Data;
using ExpRunner.Nn;

namespace ExpRunner.Training;

/// <summary>The result of one pass over a split; <see cref="Seconds"/> is the pass's wall time (batch filling and forward).</summary>
public sealed record Evaluation(double Loss, double Accuracy, int Count, int[,] Confusion, double Seconds = 0)
{
    /// <summary>The first misclassified examples of the split, in split order (at most <see cref="Evaluator{T}.KeepMistakes"/>).</summary>
    public IReadOnlyList<Mistake> Mistakes { get; init; } = [];

    public double ExamplesPerSecond => Seconds > 0 ? Count / Seconds : 0;
}

/// <summary>An example the network got wrong: its index in the dataset, true and predicted class.</summary>
public sealed record Mistake(int Example, int Label, int Predicted);

/// <summary>Loss, accuracy and confusion matrix of a network over a data split, in batches.</summary>
public sealed class Evaluator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Network<T> _net;
    private readonly Loss<T> _loss;
    private readonly Aligned<T> _x;
    private readonly T[] _y;

    public Evaluator(Network<T> net, Loss<T> loss)
    {
        _net = net; _loss = loss;
        _x = new Aligned<T>(net.Capacity * net.Inputs);
        _y = new T[net.Capacity * net.Outputs];
    }

    public const int KeepMistakes = 200;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Evaluation Evaluate(DataSplit split)
    {
        var pass = Begin(split);
        for (int start = 0; start < split.Count; start += _net.Capacity)
        {
            int rows = Math.Min(_net.Capacity, split.Count - start);
            split.Data.FillBatch<T>(split.Indices, start, rows, _x, _y, _net.Outputs, _net.InputParts(rows));
            Batch(pass, _x, _y, start, rows);
        }
        return End(pass);
    }

    /// <summary>A pass over a split batch by batch (<see cref="Batch"/>), for passes whose batches are filled elsewhere (a group of trials shares them).</summary>
    public sealed class Pass(DataSplit split)
    {
        public DataSplit Split { get; } = split;
        internal readonly List<Mistake> Mistakes = [];
        internal readonly int[,] Confusion = new int[split.Data.Classes, split.Data.Classes];
        internal double LossSum;
        internal int Correct;
        internal readonly System.Diagnostics.Stopwatch Clock = System.Diagnostics.Stopwatch.StartNew();
    }

    public Pass Begin(DataSplit split) => new(split);

    /// <summary>Batch [start, start + rows) of the pass's split, filled into <paramref name="x"/>, <paramref name="y"/> (rows of at most the network's capacity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Batch(Pass pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, int start, int rows, IFirstLayerShare? shared = null)
    {
        var split = pass.Split;
        var idx = split.Indices.AsSpan(start, rows);
        var output = _net.Forward(x, rows, shared);
        pass.LossSum += _net.LossSum(_loss, y, rows);
        for (int r = 0; r < rows; r++)
        {
            int predicted = Predict(output.Slice(r * _net.Outputs, _net.Outputs));
            int actual = split.Data.Labels[idx[r]];
            pass.Confusion[actual, predicted]++;
            if (predicted == actual) pass.Correct++;
            else if (pass.Mistakes.Count < KeepMistakes) pass.Mistakes.Add(new Mistake(idx[r], actual, predicted));
        }
    }

    public Evaluation End(Pass pass)
    {
        int n = Math.Max(1, pass.Split.Count);
        return new Evaluation(pass.LossSum / n, (double)pass.Correct / n, pass.Split.Count, pass.Confusion, pass.Clock.Elapsed.TotalSeconds) { Mistakes = pass.Mistakes };
    }

    /// <summary>The predicted class of one output row: argmax, or output ≥ 0.5 for a single unit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Predict(ReadOnlySpan<T> output)
    {
        if (output.Length == 1) return output[0] >= T.CreateChecked(0.5) ? 1 : 0;
        int best = 0;
        for (int c = 1; c < output.Length; c++) if (output[c] > output[best]) best = c;
        return best;
    }
}
