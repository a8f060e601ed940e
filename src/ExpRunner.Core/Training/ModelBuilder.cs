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
            var layer = new DenseLayer<T>(fanIn, l.Units, Activation<T>.Create(l.Activation, l.Slope));
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
        ["loss"] = config.Loss,
        ["convention"] = "Z = X·Wᵀ + b; weight [out, in]; rows are examples",
    };

    /// <summary>Copies saved tensors into a network of the same shape; says which tensor does not fit.</summary>
    public static void Load<T>(Network<T> net, IReadOnlyList<Tensor> tensors, string source) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var byName = tensors.ToDictionary(t => t.Name);
        for (int l = 0; l < net.Layers.Count; l++)
        {
            var layer = net.Layers[l];
            Copy(byName, $"layers.{l}.weight", layer.W, [layer.Out, layer.In], source);
            Copy(byName, $"layers.{l}.bias", layer.B, [layer.Out], source);
        }
        if (byName.Count != net.Layers.Count * 2)
            throw new InvalidDataException($"{source}: holds {byName.Count} tensors, the config's network has {net.Layers.Count * 2}");
    }

    private static void Copy<T>(Dictionary<string, Tensor> byName, string name, T[] into, int[] shape, string source) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!byName.TryGetValue(name, out var t)) throw new InvalidDataException($"{source}: no tensor '{name}'");
        if (!t.Shape.SequenceEqual(shape))
            throw new InvalidDataException($"{source}: tensor '{name}' has shape [{string.Join(",", t.Shape)}], the config needs [{string.Join(",", shape)}]");
        for (int i = 0; i < into.Length; i++) into[i] = T.CreateTruncating(t[i]);
    }
}
