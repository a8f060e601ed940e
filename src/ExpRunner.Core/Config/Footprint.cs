using System.Globalization;

namespace ExpRunner.Config;

/// <summary>
/// How much memory an experiment's buffers take, worked out from the config before anything is
/// allocated: a network or batch that cannot fit is a config error naming the key, not a crash
/// (an int overflow, an out-of-memory) halfway into a run.
/// </summary>
public static class Footprint
{
    /// <summary>The most elements one .NET array may hold.</summary>
    public static readonly long MaxArray = Array.MaxLength;

    /// <summary>
    /// Checks the network (parameters: weights, gradients, momentum, the copy written at the end) and
    /// the batch buffers (input, target, three per layer, eval buffers) against <paramref name="available"/> bytes.
    /// </summary>
    /// <param name="inputs">The input width (from the dataset).</param>
    /// <param name="examples">An upper bound of the training examples (a batch larger than that is never filled).</param>
    public static void Check(ExperimentConfig c, int inputs, long examples, long available, Action<string, string> error)
    {
        var layers = c.Model.Layers;
        if (layers.Count == 0 || inputs <= 0) return;
        long fanIn = inputs;
        for (int i = 0; i < layers.Count; i++)
        {
            long w = fanIn * layers[i].Units;
            if (w > MaxArray)
            {
                error($"model.layers.{i}.units", $"a layer of {layers[i].Units} units on {fanIn} inputs has {w.ToString("N0", CultureInfo.InvariantCulture)} weights; at most {MaxArray.ToString("N0", CultureInfo.InvariantCulture)} fit in one array");
                return;
            }
            fanIn = layers[i].Units;
        }
        long rows = Math.Max(Math.Min(c.Training.BatchSize, Math.Max(1, examples)), 1024); // evaluation runs up to 1024 rows at once
        long largestBatchArray = rows * Math.Max(inputs, layers.Max(l => (long)l.Units));
        if (largestBatchArray > MaxArray)
        {
            error("training.batch_size", $"a batch of {rows} examples of width {largestBatchArray / rows} is {largestBatchArray.ToString("N0", CultureInfo.InvariantCulture)} values; at most {MaxArray.ToString("N0", CultureInfo.InvariantCulture)} fit in one array");
            return;
        }
        var (parameterBytes, batchBytes) = Parts(c, inputs, examples);
        if (parameterBytes + batchBytes > available)
        {
            bool batchHeavy = batchBytes > parameterBytes;
            int widest = Enumerable.Range(0, layers.Count).MaxBy(i => (long)layers[i].Units * (i == 0 ? inputs : layers[i - 1].Units));
            error(batchHeavy ? "training.batch_size" : $"model.layers.{widest}.units",
                $"the network needs {Size(parameterBytes)} for its parameters and {Size(batchBytes)} for batches of {rows}, " +
                $"more than the {Size(available)} of memory available");
        }
    }

    /// <summary>
    /// The bytes a run's network and batch buffers take (as <see cref="Check"/> counts them); a config
    /// <see cref="Check"/> refuses may give any large number.
    /// </summary>
    public static long Bytes(ExperimentConfig c, int inputs, long examples)
    {
        var (parameterBytes, batchBytes) = Parts(c, inputs, examples);
        return parameterBytes + batchBytes;
    }

    private static (long Parameters, long Batches) Parts(ExperimentConfig c, int inputs, long examples)
    {
        var layers = c.Model.Layers;
        int element = c.Precision == Precision.Float64 ? 8 : 4;
        long parameters = 0, units = 0, fanIn = inputs;
        foreach (var layer in layers)
        {
            parameters += fanIn * layer.Units + layer.Units;
            units += layer.Units;
            fanIn = layer.Units;
        }
        long rows = Math.Max(Math.Min(c.Training.BatchSize, Math.Max(1, examples)), 1024); // evaluation runs up to 1024 rows at once
        return (parameters * element * (3 + c.Training.Optimizer.StateArrays), rows * element * (2L * inputs + 2 * layers[^1].Units + 3 * units));
    }

    /// <summary>A synthetic dataset of samples × features as doubles.</summary>
    public static void CheckSynthetic(DatasetConfig d, long available, Action<string, string> error)
    {
        if (d is not SyntheticDataset synthetic) return;
        var (features, samples) = Datasets.Shape(d);
        long values = samples * features;
        if (values > MaxArray || values * 8 * 3 > available)
            error("dataset.samples", $"{synthetic.Samples.ToString("N0", CultureInfo.InvariantCulture)} samples × {features} features need {Size(values * 8 * 3)} to generate; " +
                $"{(values > MaxArray ? "more values than one array holds" : $"more than the {Size(available)} of memory available")}");
    }

    /// <summary>What this process may allocate: the memory the runtime sees (a container's limit included), less a margin.</summary>
    public static long Available() => (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.8);

    public static string Size(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB"
        : (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
}
