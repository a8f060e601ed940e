using System.Globalization;
using System.Numerics;
using ExpRunner.IO;
using ExpRunner.Nn;

namespace ExpRunner.Training;

/// <summary>
/// Everything training needs to continue exactly where an epoch ended: the weights, the optimizer's
/// state and step count, the shuffle generator's state and the order it left the training set in,
/// the step counter, and early stopping's best so far (with its weights). One safetensors file in
/// the run folder (checkpoint.safetensors), replaced atomically after every epoch.
/// </summary>
public sealed class Checkpoint<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public const string Format = "exprunner-checkpoint-v1";
    /// <summary>The checkpoint's metadata key holding the per-step lines not yet written to steps.csv.gz.</summary>
    public const string PendingStepsKey = "steps_pending";
    public required int Epoch { get; init; }
    public required long Step { get; init; }
    public required long OptimizerSteps { get; init; }
    public required ulong[] Rng { get; init; }
    public required int[] Order { get; init; }
    public double? BestValue { get; init; }
    public int BestEpoch { get; init; }
    public T[][]? BestWeights { get; init; }

    /// <summary>Writes the checkpoint; <paramref name="pendingSteps"/>: per-step lines not yet in the run's steps file, kept for a resume.</summary>
    public void Write(string path, Network<T> net, Optimizer<T> optimizer, IReadOnlyDictionary<string, string> network, string? pendingSteps = null)
    {
        var tensors = ModelBuilder.ToTensors(net).ToList();
        for (int i = 0; i < optimizer.State.Count; i++) tensors.Add(Make($"optimizer.{i}", optimizer.State[i]));
        if (BestWeights is not null)
            for (int i = 0; i < BestWeights.Length; i++) tensors.Add(Make($"best.{i}", BestWeights[i]));
        tensors.Add(new Tensor("trainer.order", [Order.Length], F64: Order.Select(o => (double)o).ToArray()));
        var meta = new Dictionary<string, string>(network)
        {
            ["format"] = Format,
            ["epoch"] = Epoch.ToString(CultureInfo.InvariantCulture),
            ["step"] = Step.ToString(CultureInfo.InvariantCulture),
            ["optimizer_steps"] = OptimizerSteps.ToString(CultureInfo.InvariantCulture),
            ["optimizer_state"] = optimizer.State.Count.ToString(CultureInfo.InvariantCulture),
            ["rng"] = string.Join(",", Rng.Select(r => r.ToString("x16", CultureInfo.InvariantCulture))),
            ["best_epoch"] = BestEpoch.ToString(CultureInfo.InvariantCulture),
        };
        if (BestValue is double b) meta["best_value"] = b.ToString("R", CultureInfo.InvariantCulture);
        if (!string.IsNullOrEmpty(pendingSteps)) meta[PendingStepsKey] = pendingSteps;
        // Not flushed to the disk: a checkpoint is for interruptions; every epoch's fsync would cost small runs more than they train.
        Safetensors.Write(path, tensors, meta, durable: false);
    }

    /// <summary>Reads a checkpoint into <paramref name="net"/> and <paramref name="optimizer"/> (of the config's shape), checking that it is one and that it fits.</summary>
    public static Checkpoint<T> Read(string path, Network<T> net, Optimizer<T> optimizer, int examples)
    {
        var header = Safetensors.ReadHeader(path);
        string Meta(string key) => header.Metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: not a checkpoint (no '{key}')");
        if (Meta("format") != Format) throw new InvalidDataException($"{path}: a checkpoint of another format ({Meta("format")})");
        int epoch = int.Parse(Meta("epoch"), CultureInfo.InvariantCulture);
        if (int.Parse(Meta("optimizer_state"), CultureInfo.InvariantCulture) != optimizer.State.Count)
            throw new InvalidDataException($"{path}: holds the state of another optimizer ({Meta("optimizer_state")} buffers, the config's needs {optimizer.State.Count})");
        var modelTensors = header.Tensors.Where(t => t.Name.StartsWith("layers.", StringComparison.Ordinal)).ToList();
        ModelBuilder.Load(net, header with { Tensors = modelTensors });
        for (int i = 0; i < optimizer.State.Count; i++) Fill(header, $"optimizer.{i}", optimizer.State[i]);
        optimizer.Steps = long.Parse(Meta("optimizer_steps"), CultureInfo.InvariantCulture);
        var orderInfo = header["trainer.order"] ?? throw new InvalidDataException($"{path}: no training order");
        if (orderInfo.Shape is not [var n] || n != examples) throw new InvalidDataException($"{path}: an order of {string.Join(",", orderInfo.Shape)} examples, the data has {examples}");
        var orderTensor = Safetensors.Load(header, orderInfo);
        var order = new int[examples];
        for (int i = 0; i < examples; i++) order[i] = (int)orderTensor[i];
        T[][]? best = null;
        if (header["best.0"] is not null)
        {
            best = net.Layers.SelectMany(l => new[] { new T[l.W.Length], new T[l.B.Length] }).ToArray();
            for (int i = 0; i < best.Length; i++) Fill(header, $"best.{i}", best[i]);
        }
        return new Checkpoint<T>
        {
            Epoch = epoch, Step = long.Parse(Meta("step"), CultureInfo.InvariantCulture), OptimizerSteps = optimizer.Steps,
            Rng = Meta("rng").Split(',').Select(h => ulong.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray(),
            Order = order, BestEpoch = int.Parse(Meta("best_epoch"), CultureInfo.InvariantCulture),
            BestValue = header.Metadata.TryGetValue("best_value", out var bv) ? double.Parse(bv, CultureInfo.InvariantCulture) : null,
            BestWeights = best,
        };
    }

    private static Tensor Make(string name, T[] values) =>
        typeof(T) == typeof(float) ? new Tensor(name, [values.Length], F32: (float[])(object)values.Clone())
        : new Tensor(name, [values.Length], F64: (double[])(object)values.Clone());

    private static void Fill(SafetensorsHeader header, string name, T[] into)
    {
        var info = header[name] ?? throw new InvalidDataException($"{header.Path}: no tensor '{name}'");
        if (info.Shape is not [var n] || n != into.Length) throw new InvalidDataException($"{header.Path}: tensor '{name}' of shape [{string.Join(",", info.Shape)}] does not fit {into.Length} values");
        var t = Safetensors.Load(header, info);
        for (int i = 0; i < into.Length; i++) into[i] = T.CreateTruncating(t[i]);
    }
}
