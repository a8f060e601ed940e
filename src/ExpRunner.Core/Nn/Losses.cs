using System.Runtime.CompilerServices;
using System.Numerics;

namespace ExpRunner.Nn;

/// <summary>
/// A loss defined per example; <see cref="Sum"/> returns the sum over the batch (callers divide
/// by the number of examples to report a mean). <see cref="Delta"/> writes the per-example
/// gradient with respect to the output layer's pre-activation Z — never divided by the batch
/// size: how per-example gradients combine is the optimizer's business.
/// </summary>
public abstract class Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public abstract string Name { get; }
    public abstract double Sum(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> y, int rows, int cols);
    public abstract void Delta(Activation<T> output, ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> y, Span<T> dA, Span<T> dZ, int rows, int cols);

    public static readonly string[] Names = ["sse", "mse", "bce", "cross_entropy"];

    public static Loss<T> Create(string name) => name switch
    {
        "sse" => new Quadratic(half: true),
        "mse" => new Quadratic(half: false),
        "bce" => new BinaryCrossEntropy(),
        "cross_entropy" => new CrossEntropy(),
        _ => throw new ArgumentException($"unknown loss '{name}'"),
    };

    /// <summary>
    /// sse = ½·Σ(a−y)², gradient a−y (Nielsen's quadratic cost);
    /// mse = (1/cols)·Σ(a−y)², gradient 2(a−y)/cols. The output activation's own derivative follows.
    /// </summary>
    private sealed class Quadratic(bool half) : Loss<T>
    {
        public override string Name => half ? "sse" : "mse";

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override double Sum(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> y, int rows, int cols)
        {
            double s = 0;
            for (int i = 0; i < rows * cols; i++) { double d = double.CreateTruncating(a[i] - y[i]); s += d * d; }
            return half ? 0.5 * s : s / cols;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Delta(Activation<T> output, ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> y, Span<T> dA, Span<T> dZ, int rows, int cols)
        {
            int len = rows * cols;
            Elementwise.Subtract(a[..len], y, dA);
            if (!half) Elementwise.Scale(dA[..len], T.CreateChecked(2.0 / cols));
            output.Backward(z, a, dA, dZ, rows, cols);
        }
    }

    /// <summary>
    /// Binary cross-entropy on a sigmoid output, computed from the logit z for stability:
    /// −[y log σ(z) + (1−y) log(1−σ(z))] = max(z,0) − z·y + log(1 + e^{−|z|}). Fused gradient: a − y.
    /// </summary>
    private sealed class BinaryCrossEntropy : Loss<T>
    {
        public override string Name => "bce";

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override double Sum(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> y, int rows, int cols)
        {
            double s = 0;
            for (int i = 0; i < rows * cols; i++)
            {
                double zi = double.CreateTruncating(z[i]), yi = double.CreateTruncating(y[i]);
                s += Math.Max(zi, 0) - zi * yi + Math.Log(1 + Math.Exp(-Math.Abs(zi)));
            }
            return s;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Delta(Activation<T> output, ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> y, Span<T> dA, Span<T> dZ, int rows, int cols)
        {
            Elementwise.Subtract(a[..(rows * cols)], y, dZ);
        }
    }

    /// <summary>
    /// Categorical cross-entropy on a softmax output from the logits with log-sum-exp:
    /// −Σ y·(z − logΣe^z). Fused gradient: a − y.
    /// </summary>
    private sealed class CrossEntropy : Loss<T>
    {
        public override string Name => "cross_entropy";

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override double Sum(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> y, int rows, int cols)
        {
            double s = 0;
            for (int r = 0; r < rows; r++)
            {
                var zr = z.Slice(r * cols, cols);
                double max = double.NegativeInfinity;
                for (int c = 0; c < cols; c++) max = Math.Max(max, double.CreateTruncating(zr[c]));
                double sumExp = 0;
                for (int c = 0; c < cols; c++) sumExp += Math.Exp(double.CreateTruncating(zr[c]) - max);
                double lse = max + Math.Log(sumExp);
                for (int c = 0; c < cols; c++)
                {
                    double yc = double.CreateTruncating(y[r * cols + c]);
                    if (yc != 0) s -= yc * (double.CreateTruncating(zr[c]) - lse);
                }
            }
            return s;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Delta(Activation<T> output, ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> y, Span<T> dA, Span<T> dZ, int rows, int cols)
        {
            Elementwise.Subtract(a[..(rows * cols)], y, dZ);
        }
    }
}
