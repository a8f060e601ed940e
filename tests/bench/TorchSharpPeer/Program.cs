// The training benchmark's peer in TorchSharp: the same networks, data, batch sizes and epoch
// (shuffle + every batch, bytes scaled per batch), as peers.py's PyTorch peer does them.
//   TorchSharpPeer C1|C2|C3|C4 THREADS DATA_DIR
// prints one line: samples_per_second=<median of the timed epochs> low=<slowest> high=<fastest> library=<LibTorch version>,
// or "unavailable: <why>" (exit 3) when LibTorch cannot be loaded on this machine.
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

var configs = new Dictionary<string, (int[] Hidden, string Act, string Loss, int Batch)>
{
    ["C1"] = ([20, 20], "sigmoid", "sse", 100),
    ["C2"] = ([30], "sigmoid", "sse", 10),
    ["C3"] = ([128, 64], "relu", "ce", 64),
    ["C4"] = ([512, 512], "relu", "ce", 128),
};
const int Warmup = 1, Timed = 3;
if (args.Length != 3 || !configs.TryGetValue(args[0], out var cfg) || !int.TryParse(args[1], CultureInfo.InvariantCulture, out int threads) || threads < 1)
{
    Console.Error.WriteLine("usage: TorchSharpPeer C1|C2|C3|C4 THREADS DATA_DIR");
    return 2;
}
// LibTorch loaded first by hand, so that a machine it cannot run on says why in one line (the benchmark's table
// shows it): TorchSharp itself would print a page of its search and name no cause.
string native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
try { System.Runtime.InteropServices.NativeLibrary.Load(native); }
catch (DllNotFoundException e)
{
    // The loader's own words (dlerror) come last in the message: e.g. the C++ library this machine lacks.
    string why = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
    Console.WriteLine("unavailable: " + why.Replace(AppContext.BaseDirectory, "", StringComparison.Ordinal));
    return 3;
}
torch.set_num_threads(threads);
torch.random.manual_seed(1);

byte[] Read(string name)
{
    using var gz = new GZipStream(File.OpenRead(Path.Combine(args[2], name + ".gz")), CompressionMode.Decompress);
    using var all = new MemoryStream();
    gz.CopyTo(all);
    return all.ToArray();
}
var images = Read("train-images-idx3-ubyte");
var labels = Read("train-labels-idx1-ubyte");
int n = (images[4] << 24) | (images[5] << 16) | (images[6] << 8) | images[7];
var xt = torch.tensor(images[16..], [n, 784], ScalarType.Byte);
var yt = torch.tensor(labels[8..].Select(b => (long)b).ToArray(), [n]);
var eye = torch.eye(10);

var widths = new[] { 784 }.Concat(cfg.Hidden).Append(10).ToArray();
var layers = new List<nn.Module<Tensor, Tensor>>();
for (int i = 0; i < widths.Length - 1; i++)
{
    layers.Add(nn.Linear(widths[i], widths[i + 1]));
    if (i < widths.Length - 2) layers.Add(cfg.Act == "sigmoid" ? nn.Sigmoid() : nn.ReLU());
}
if (cfg.Loss == "sse") layers.Add(nn.Sigmoid());
var net = nn.Sequential(layers.ToArray());
var opt = torch.optim.SGD(net.parameters(), 0.01);

var times = new List<double>();
for (int epoch = 0; epoch < Warmup + Timed; epoch++)
{
    var clock = Stopwatch.StartNew();
    using var perm = torch.randperm(n);
    for (int s = 0; s < n; s += cfg.Batch)
    {
        using var scope = torch.NewDisposeScope();
        var idx = perm.slice(0, s, Math.Min(n, s + cfg.Batch), 1);
        var xb = xt.index_select(0, idx).to_type(ScalarType.Float32).div_(255);
        var output = net.forward(xb);
        var yb = yt.index_select(0, idx);
        var loss = cfg.Loss == "sse"
            ? (output - eye.index_select(0, yb)).pow(2).sum().mul(0.5)
            : nn.functional.cross_entropy(output, yb);
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    times.Add(clock.Elapsed.TotalSeconds);
}
var timed = times.Skip(Warmup).Order().ToList();
var inv = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv, $"samples_per_second={n / timed[timed.Count / 2]:F1} low={n / timed[^1]:F1} high={n / timed[0]:F1} library=LibTorch-{torch.__version__}"));
return 0;
