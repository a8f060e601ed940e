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
    private readonly T[] _x, _y;

    public Evaluator(Network<T> net, Loss<T> loss)
    {
        _net = net; _loss = loss;
        _x = new T[net.Capacity * net.Inputs];
        _y = new T[net.Capacity * net.Outputs];
    }

    public const int KeepMistakes = 200;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Evaluation Evaluate(DataSplit split)
    {
        var mistakes = new List<Mistake>();
        int classes = split.Data.Classes;
        var confusion = new int[classes, classes];
        double lossSum = 0;
        int correct = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int start = 0; start < split.Count; start += _net.Capacity)
        {
            int rows = Math.Min(_net.Capacity, split.Count - start);
            var idx = split.Indices.AsSpan(start, rows);
            split.Data.FillBatch<T>(split.Indices, start, rows, _x, _y, _net.Outputs, _net.InputParts(rows));
            var output = _net.Forward(_x, rows);
            lossSum += _net.LossSum(_loss, _y, rows);
            for (int r = 0; r < rows; r++)
            {
                int predicted = Predict(output.Slice(r * _net.Outputs, _net.Outputs));
                int actual = split.Data.Labels[idx[r]];
                confusion[actual, predicted]++;
                if (predicted == actual) correct++;
                else if (mistakes.Count < KeepMistakes) mistakes.Add(new Mistake(idx[r], actual, predicted));
            }
        }
        int n = Math.Max(1, split.Count);
        return new Evaluation(lossSum / n, (double)correct / n, split.Count, confusion, clock.Elapsed.TotalSeconds) { Mistakes = mistakes };
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
