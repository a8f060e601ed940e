using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;

namespace ExpRunner.Nn;

/// <summary>
/// An activation applied to a whole batch Z [rows, cols] → A. <see cref="Backward"/> turns dA
/// (∂loss/∂A) into dZ (∂loss/∂Z); it may use Z, A or both.
/// </summary>
public abstract class Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public abstract string Name { get; }
    public abstract void Forward(ReadOnlySpan<T> z, Span<T> a, int rows, int cols);
    public abstract void Backward(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> dA, Span<T> dZ, int rows, int cols);

    public static Activation<T> Create(string name, double slope = 0.01) => name switch
    {
        "sigmoid" => new Sigmoid(),
        "tanh" => new Tanh(),
        "relu" => new LeakyRelu(T.Zero, "relu"),
        "leaky_relu" => new LeakyRelu(T.CreateChecked(slope), "leaky_relu"),
        "softmax" => new Softmax(),
        "linear" => new Linear(),
        _ => throw new ArgumentException($"unknown activation '{name}'"),
    };

    public static readonly string[] Names = ["sigmoid", "tanh", "relu", "leaky_relu", "softmax", "linear"];

    private sealed class Sigmoid : Activation<T>
    {
        public override string Name => "sigmoid";
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Forward(ReadOnlySpan<T> z, Span<T> a, int rows, int cols) =>
            Elementwise.Sigmoid(z[..(rows * cols)], a);

        // σ'(z) = a(1 − a)
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Backward(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> dA, Span<T> dZ, int rows, int cols) =>
            Elementwise.SigmoidBackward(a[..(rows * cols)], dA, dZ);
    }

    private sealed class Tanh : Activation<T>
    {
        public override string Name => "tanh";
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Forward(ReadOnlySpan<T> z, Span<T> a, int rows, int cols) =>
            TensorPrimitives.Tanh(z[..(rows * cols)], a);

        // tanh'(z) = 1 − a²
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Backward(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> dA, Span<T> dZ, int rows, int cols) =>
            Elementwise.TanhBackward(a[..(rows * cols)], dA, dZ);
    }

    /// <summary>relu is leaky_relu with slope 0. The derivative at exactly 0 is taken as the slope.</summary>
    private sealed class LeakyRelu(T slope, string name) : Activation<T>
    {
        public override string Name => name;
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Forward(ReadOnlySpan<T> z, Span<T> a, int rows, int cols) =>
            Elementwise.Where(z[..(rows * cols)], z, z, slope, a);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Backward(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> dA, Span<T> dZ, int rows, int cols) =>
            Elementwise.Where(z[..(rows * cols)], dA, dA, slope, dZ);
    }

    private sealed class Linear : Activation<T>
    {
        public override string Name => "linear";
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Forward(ReadOnlySpan<T> z, Span<T> a, int rows, int cols) => z[..(rows * cols)].CopyTo(a);
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Backward(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> dA, Span<T> dZ, int rows, int cols) =>
            dA[..(rows * cols)].CopyTo(dZ);
    }

    /// <summary>Row-wise softmax (max-shifted, so large logits do not overflow).</summary>
    private sealed class Softmax : Activation<T>
    {
        public override string Name => "softmax";
        // Three passes over the batch rather than one SoftMax call per row: rows are short (one
        // value per class), and the exponentials vectorise across row boundaries.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Forward(ReadOnlySpan<T> z, Span<T> a, int rows, int cols) => Elementwise.Softmax(z, a, rows, cols);

        // dZ = a ⊙ (dA − ⟨dA, a⟩) per row: the softmax Jacobian applied without forming it.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Backward(ReadOnlySpan<T> z, ReadOnlySpan<T> a, ReadOnlySpan<T> dA, Span<T> dZ, int rows, int cols)
        {
            for (int r = 0; r < rows; r++)
            {
                var ar = a.Slice(r * cols, cols);
                var gr = dA.Slice(r * cols, cols);
                T dot = T.Zero;
                for (int c = 0; c < cols; c++) dot += ar[c] * gr[c];
                var dz = dZ.Slice(r * cols, cols);
                for (int c = 0; c < cols; c++) dz[c] = ar[c] * (gr[c] - dot);
            }
        }
    }
}
