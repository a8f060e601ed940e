using System.Globalization;
using System.Numerics;
using ExpRunner.Config;
using ExpRunner.Nn;
using ExpRunner.IO;

namespace ExpRunner.Training;

/// <summary>Builds a network from the model config, and moves its parameters to and from tensors.</summary>
public static class ModelBuilder
{
    /// <summary>
    /// Layers as configured, input width from the data. Parameters are drawn layer by layer from one
    /// stream derived from the seed: weights (row-major [out, in]) first, then biases.
    /// </summary>
    public static Network<T> Build<T>(ModelConfig model, int inputs, int capacity, long seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(Rng.Derive(seed, "init"));
        var layers = new List<DenseLayer<T>>();
        int fanIn = inputs;
        foreach (var l in model.Layers)
        {
            var layer = new DenseLayer<T>(fanIn, l.Units, Activation<T>.Create(l.ActivationName, l.Slope));
            model.Init.ToSpec().Fill<T>(layer.W, fanIn, l.Units, rng);
            model.EffectiveBiasInit.ToSpec().Fill<T>(layer.B, fanIn, l.Units, rng);
            layers.Add(layer);
            fanIn = l.Units;
        }
        return new Network<T>(layers, capacity);
    }

    public static IReadOnlyList<Tensor> ToTensors<T>(Network<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tensors = new List<Tensor>();
        for (int l = 0; l < net.Layers.Count; l++)
        {
            var layer = net.Layers[l];
            tensors.Add(Make($"layers.{l}.weight", [layer.Out, layer.In], layer.W));
            tensors.Add(Make($"layers.{l}.bias", [layer.Out], layer.B));
        }
        return tensors;
    }

    private static Tensor Make<T>(string name, int[] shape, T[] values) where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? new Tensor(name, shape, F32: (float[])(object)values.Clone())
        : new Tensor(name, shape, F64: values.Select(v => double.CreateTruncating(v)).ToArray());

    public static Dictionary<string, string> Metadata<T>(Network<T> net, ExperimentConfig config, string runId) where T : unmanaged, IFloatingPointIeee754<T> => new()
    {
        ["format"] = "exprunner-dense-v1",
        ["run_id"] = runId,
        ["experiment"] = config.Name,
        ["inputs"] = net.Inputs.ToString(CultureInfo.InvariantCulture),
        ["units"] = string.Join(",", net.Layers.Select(l => l.Out.ToString(CultureInfo.InvariantCulture))),
        ["activations"] = string.Join(",", net.Layers.Select(l => l.Activation.Name)),
        ["loss"] = SnakeNames<LossKind>.Of(config.Loss),
        ["convention"] = "Z = X·Wᵀ + b; weight [out, in]; rows are examples",
    };

    /// <summary>
    /// Copies a saved network's tensors into a network of the same shape, reading only the tensors
    /// it needs; says which tensor does not fit.
    /// </summary>
    public static void Load<T>(Network<T> net, SafetensorsHeader saved) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int expected = net.Layers.Count * 2;
        if (saved.Tensors.Count != expected)
            throw new InvalidDataException($"{saved.Path}: holds {saved.Tensors.Count} tensors, the config's network has {expected}");
        for (int l = 0; l < net.Layers.Count; l++)
        {
            var layer = net.Layers[l];
            Copy(saved, $"layers.{l}.weight", layer.W, [layer.Out, layer.In]);
            Copy(saved, $"layers.{l}.bias", layer.B, [layer.Out]);
        }
    }

    private static void Copy<T>(SafetensorsHeader saved, string name, T[] into, int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var info = saved[name] ?? throw new InvalidDataException($"{saved.Path}: no tensor '{name}'");
        if (!info.Shape.SequenceEqual(shape))
            throw new InvalidDataException($"{saved.Path}: tensor '{name}' has shape [{string.Join(",", info.Shape)}], the config needs [{string.Join(",", shape)}]");
        var t = Safetensors.Load(saved, info);
        for (int i = 0; i < into.Length; i++) into[i] = T.CreateTruncating(t[i]);
    }

    /// <summary>
    /// Where a config disagrees with the network its weights were trained as (the metadata written
    /// with them): the input width, a layer's width or activation, the loss. Empty when they agree
    /// (or the file has no such metadata).
    /// </summary>
    public static List<string> Disagreements(ExperimentConfig config, int inputs, IReadOnlyDictionary<string, string> meta)
    {
        var found = new List<string>();
        if (meta.TryGetValue("inputs", out var i) && i != inputs.ToString(CultureInfo.InvariantCulture))
            found.Add($"the data has {inputs} inputs, the weights were trained on {i}");
        var layers = config.Model.Layers;
        if (meta.TryGetValue("units", out var u))
        {
            var units = u.Split(',');
            if (units.Length != layers.Count) found.Add($"the config has {layers.Count} layers, the weights {units.Length}");
            else for (int l = 0; l < units.Length; l++)
                if (units[l] != layers[l].Units.ToString(CultureInfo.InvariantCulture)) found.Add($"model.layers.{l}.units is {layers[l].Units}, the weights were trained with {units[l]}");
        }
        if (meta.TryGetValue("activations", out var a) && a.Split(',') is var acts && acts.Length == layers.Count)
            for (int l = 0; l < acts.Length; l++)
                if (acts[l] != layers[l].ActivationName) found.Add($"model.layers.{l}.activation is {layers[l].ActivationName}, the weights were trained with {acts[l]}");
        string configured = SnakeNames<LossKind>.Of(config.Loss);
        if (meta.TryGetValue("loss", out var loss) && loss != configured) found.Add($"loss is {configured}, the weights were trained with {loss}");
        return found;
    }
}
