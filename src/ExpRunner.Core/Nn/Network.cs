using System.Runtime.CompilerServices;
using System.Numerics;

namespace ExpRunner.Nn;

/// <summary>One fully-connected layer: Z = X·Wᵀ + b, A = f(Z). W is [Out, In], b is [Out].</summary>
public sealed class DenseLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public int In { get; }
    public int Out { get; }
    public Activation<T> Activation { get; }
    public T[] W { get; }
    public T[] B { get; }
    /// <summary>Gradients summed over the batch's examples (reduction is the optimizer's job).</summary>
    public T[] DW { get; }
    public T[] DB { get; }

    public DenseLayer(int inputs, int outputs, Activation<T> activation)
    {
        In = inputs; Out = outputs; Activation = activation;
        W = new T[outputs * inputs]; B = new T[outputs];
        DW = new T[outputs * inputs]; DB = new T[outputs];
    }
}

/// <summary>
/// The first layer's two products of a network trained in a group (<c>Training.TrialGroup</c>): called
/// where the network would make them itself, they return once the group has made them for every member —
/// <see cref="Product"/> X·Wᵀ into the first layer's Z, <see cref="Gradient"/> δᵀ·X into its DW.
/// </summary>
public interface IFirstLayerShare
{
    void Product(int rows);
    void Gradient(int rows);
}

/// <summary>
/// A stack of dense layers with batch buffers sized once for the largest batch. Forward and
/// backward run on whole batches (rows are examples); nothing is allocated per batch.
/// </summary>
public sealed class Network<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public IReadOnlyList<DenseLayer<T>> Layers { get; }
    public int Inputs => Layers[0].In;
    public int Outputs => Layers[^1].Out;
    public int Threads { get; set; } = 1;
    /// <summary>The widest vectors its products may use (0: the widest the CPU has; 256, 128: narrower kernels, to compare them). Results do not depend on it.</summary>
    public int VectorBits { get; set; }

    private readonly Aligned<T>[] _z, _a, _dz;  // per layer, [capacity, Out]
    private readonly T[] _dA;            // scratch for ∂loss/∂A of the output layer
    private T[] _dInput = [];            // ∂loss/∂X, only when asked for
    private readonly ActivateRows _activate;
    private readonly DifferentiateRows _differentiate;
    public int Capacity { get; }

    public Network(IReadOnlyList<DenseLayer<T>> layers, int capacity)
    {
        Layers = layers; Capacity = capacity;
        _z = new Aligned<T>[layers.Count]; _a = new Aligned<T>[layers.Count]; _dz = new Aligned<T>[layers.Count];
        for (int l = 0; l < layers.Count; l++)
        {
            _z[l] = new Aligned<T>(capacity * layers[l].Out);
            _a[l] = new Aligned<T>(capacity * layers[l].Out);
            _dz[l] = new Aligned<T>(capacity * layers[l].Out);
        }
        _dA = new T[capacity * layers[^1].Out];
        _activate = new ActivateRows(this);
        _differentiate = new DifferentiateRows(this);
    }

    public ReadOnlySpan<T> Output(int rows) => _a[^1].AsSpan(0, rows * Outputs);
    public ReadOnlySpan<T> OutputLogits(int rows) => _z[^1].AsSpan(0, rows * Outputs);
    /// <summary>Layer <paramref name="layer"/>'s pre-activations Z = X·Wᵀ + b of the last forward pass.</summary>
    public ReadOnlySpan<T> PreActivations(int layer, int rows) => _z[layer].AsSpan(0, rows * Layers[layer].Out);
    /// <summary>Layer <paramref name="layer"/>'s outputs A = f(Z) of the last forward pass.</summary>
    public ReadOnlySpan<T> LayerOutput(int layer, int rows) => _a[layer].AsSpan(0, rows * Layers[layer].Out);
    public ReadOnlySpan<T> InputGradient(int rows) => _dInput.AsSpan(0, rows * Inputs);
    public int ParameterCount => Layers.Sum(l => l.W.Length + l.B.Length);

    /// <summary>How many threads the first layer's product of a batch of <paramref name="rows"/> is split across (see <see cref="Gemm.Rows"/>).</summary>
    public int InputParts(int rows) => Gemm.Parts(rows, Layers[0].Out, Inputs, Threads);

    /// <summary>
    /// Forward pass of <paramref name="rows"/> examples x [rows, Inputs]; returns A of the last layer.
    /// With <paramref name="shared"/> the first layer's product X·Wᵀ is made by a group of networks
    /// trained together (<see cref="IFirstLayerShare"/>); the bias and activation are still this network's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReadOnlySpan<T> Forward(ReadOnlySpan<T> x, int rows, IFirstLayerShare? shared = null)
    {
        if (rows > Capacity) throw new ArgumentOutOfRangeException(nameof(rows), $"batch of {rows} exceeds capacity {Capacity}");
        ReadOnlySpan<T> input = x;
        for (int l = 0; l < Layers.Count; l++)
        {
            var layer = Layers[l];
            Span<T> z = _z[l].AsSpan(0, rows * layer.Out);
            _activate.Layer = l;
            if (l == 0 && shared is not null)
            {
                shared.Product(rows);     // Z = X·Wᵀ, written into FirstPreActivations
                _activate.Rows(0, rows);  // + b, A = f(Z): element-wise, the same however the rows are split
            }
            else Gemm.MultiplyTransposedB<T>(input, layer.W, z, rows, layer.Out, layer.In, Threads, VectorBits, then: _activate); // Z = X·Wᵀ; + b, A = f(Z)
            input = _a[l].AsSpan(0, rows * layer.Out);
        }
        return Output(rows);
    }

    /// <summary>The first layer's Z buffer [Capacity, Out], for a group that makes its product (<see cref="IFirstLayerShare"/>).</summary>
    internal Span<T> FirstPreActivations => _z[0].Span;
    /// <summary>The first layer's δ = ∂loss/∂Z [Capacity, Out] after the backward pass reached it.</summary>
    internal Span<T> FirstDeltas => _dz[0].Span;

    /// <summary>Sum over the batch of the per-example loss, for the last <see cref="Forward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double LossSum(Loss<T> loss, ReadOnlySpan<T> y, int rows) =>
        loss.Sum(OutputLogits(rows), Output(rows), y, rows, Outputs);

    /// <summary>
    /// Backpropagation after <see cref="Forward"/> on the same x: fills every layer's DW and DB with
    /// the gradient summed over the batch's examples, and ∂loss/∂x when <paramref name="inputGradient"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows, Loss<T> loss, bool inputGradient = false, IFirstLayerShare? shared = null)
    {
        int last = Layers.Count - 1;
        loss.Delta(Layers[last].Activation, _z[last], _a[last], y, _dA, _dz[last], rows, Outputs);
        for (int l = last; l >= 0; l--)
        {
            var layer = Layers[l];
            ReadOnlySpan<T> dz = _dz[l].AsSpan(0, rows * layer.Out);
            ReadOnlySpan<T> input = l == 0 ? x : _a[l - 1].AsSpan(0, rows * layer.In);
            if (l == 0 && shared is not null) shared.Gradient(rows);                              // dW = δᵀ·X, by the group
            else Gemm.MultiplyTransposedA<T>(dz, input, layer.DW, layer.Out, layer.In, rows, Threads, vectorBits: VectorBits); // dW = δᵀ·X
            Elementwise.SumRows(dz, rows, layer.Out, layer.DB);                                    // db = Σ_rows δ
            if (l > 0)
            {
                Span<T> dA = _dz[l - 1].AsSpan(0, rows * layer.In);                                // reuse as dA, then dZ in place
                _differentiate.Layer = l - 1;
                Gemm.Multiply<T>(dz, layer.W, dA, rows, layer.In, layer.Out, Threads, VectorBits, then: _differentiate); // dX = δ·W; δ = dX ⊙ f'(Z)
            }
            else if (inputGradient)
            {
                if (_dInput.Length < Capacity * Inputs) _dInput = new T[Capacity * Inputs];
                Gemm.Multiply<T>(dz, layer.W, _dInput, rows, layer.In, layer.Out, Threads, VectorBits);
            }
        }
    }

    /// <summary>After Z = X·Wᵀ, on each product thread's rows: Z += b, A = f(Z).</summary>
    private sealed class ActivateRows(Network<T> net) : Gemm.IRowEpilogue
    {
        public int Layer;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Rows(int start, int end)
        {
            var layer = net.Layers[Layer];
            int cols = layer.Out, rows = end - start;
            var z = net._z[Layer].AsSpan(start * cols, rows * cols);
            Elementwise.AddToRows<T>(z, layer.B, rows, cols);
            layer.Activation.Forward(z, net._a[Layer].AsSpan(start * cols, rows * cols), rows, cols);
        }
    }

    /// <summary>After dA = δ·W of the layer above, on each product thread's rows: δ = dA ⊙ f'(Z) of layer <see cref="Layer"/>, in place.</summary>
    private sealed class DifferentiateRows(Network<T> net) : Gemm.IRowEpilogue
    {
        public int Layer;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Rows(int start, int end)
        {
            var layer = net.Layers[Layer];
            int cols = layer.Out, rows = end - start;
            var dA = net._dz[Layer].AsSpan(start * cols, rows * cols);
            layer.Activation.Backward(net._z[Layer].AsSpan(start * cols, rows * cols), net._a[Layer].AsSpan(start * cols, rows * cols), dA, dA, rows, cols);
        }
    }
}
