using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ExpRunner;
using ExpRunner.Nn;

/// <summary>
/// The GEMM kernels at the training shapes of C1 and C4 (X·Wᵀ forward, δᵀ·X for dW, δ·W for dX)
/// and the activations, float32, one thread. The GFLOP/s column divides each kernel's flops by its time.
/// </summary>
[Config(typeof(KernelConfig))]
public class Kernels
{
    [Params("C1 784x20 b100", "C4 784x512 b128", "C4 512x512 b128")]
    public string Shape { get; set; } = "";

    /// <summary>The widest vectors the kernels may use: the 512-bit family against the 256-bit one.</summary>
    [Params(512, 256)]
    public int Bits { get; set; } = 512;

    private int _b, _in, _out;
    private float[] _x = [], _w = [], _z = [], _dz = [], _dw = [], _dx = [];

    [GlobalSetup]
    public void Setup()
    {
        (_in, _out, _b) = Shape switch
        {
            "C1 784x20 b100" => (784, 20, 100),
            "C4 784x512 b128" => (784, 512, 128),
            _ => (512, 512, 128),
        };
        var rng = new Rng(1);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.Uniform(-1, 1)).ToArray();
        _x = R(_b * _in); _w = R(_out * _in); _dz = R(_b * _out);
        _z = new float[_b * _out]; _dw = new float[_out * _in]; _dx = new float[_b * _in];
    }

    public double Flops => 2.0 * _b * _in * _out;

    [Benchmark(Description = "forward X·Wᵀ")]
    public void Forward() => Gemm.MultiplyTransposedB<float>(_x, _w, _z, _b, _out, _in, vectorBits: Bits);

    [Benchmark(Description = "dW = δᵀ·X")]
    public void WeightGradient() => Gemm.MultiplyTransposedA<float>(_dz, _x, _dw, _out, _in, _b, vectorBits: Bits);

    [Benchmark(Description = "dX = δ·W")]
    public void InputGradient() => Gemm.Multiply<float>(_dz, _w, _dx, _b, _in, _out, vectorBits: Bits);

    [Benchmark(Description = "sigmoid forward (per Z)")]
    public void Sigmoid() => _sigmoid.Forward(_z, _z, _b, _out);

    [Benchmark(Description = "relu forward (per Z)")]
    public void Relu() => _relu.Forward(_z, _z, _b, _out);

    [Benchmark(Description = "softmax forward (per Z)")]
    public void Softmax() => _softmax.Forward(_z, _z, _b, _out);

    private readonly Activation<float> _sigmoid = Activation<float>.Create("sigmoid"), _relu = Activation<float>.Create("relu"),
        _softmax = Activation<float>.Create("softmax");
}

public sealed class KernelConfig : ManualConfig
{
    public KernelConfig()
    {
        AddColumn(new GflopsColumn());
    }
}

/// <summary>GFLOP/s of a GEMM benchmark: 2·m·n·k over the mean time.</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => "GFLOPS";
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "2·batch·in·out floating-point operations per second (GEMM rows only)";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (benchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Contains("per Z")) return "-";
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats) return "-";
        var k = new Kernels { Shape = (string)benchmarkCase.Parameters["Shape"] };
        k.Setup();
        return (k.Flops / stats.Mean).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture); // flops per ns = GFLOP/s
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => false;
}
