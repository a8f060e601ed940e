using System.Security.Cryptography;
using System.Text.Json;
using ExpRunner.Config;

using ExpRunner.Nn;

namespace ExpRunner.Data;

/// <summary>Turns a dataset config into train / validation / test splits and a fingerprint.</summary>
public static class DatasetLoader
{
    public static readonly string[] IdxFiles =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    public static readonly string[] FashionClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static DataSplits Load(DatasetConfig c, long experimentSeed) => c switch
    {
        ImageDataset image => Finish(c, LoadIdx(image)),
        CsvConfig csv => Finish(c, LoadCsv(csv)),
        SyntheticDataset synthetic => Finish(c, LoadSynthetic(synthetic, experimentSeed)),
        _ => throw new DataException($"no loader for dataset {c.Name}"),
    };

    private sealed record Raw(Dataset Train, Dataset? Test, string Source, Dictionary<string, string> Sha256, string? Description = null);

    /// <summary>
    /// Why a dataset's files are not there, found before reading any of them: the message loading it would
    /// fail with; null when they are there, or the data is generated.
    /// </summary>
    public static string? Missing(DatasetConfig c) => c switch
    {
        ImageDataset image => IdxPaths(image).Missing,
        CsvConfig csv => new[] { csv.Path, csv.TestPath }.OfType<string>().FirstOrDefault(p => !File.Exists(p)) is { } absent ? DataFile.NotFound(absent, Csv.What) : null,
        _ => null,
    };

    /// <summary>The four IDX files (each plain or gzipped), or what is missing of them.</summary>
    private static (string[] Paths, string? Missing) IdxPaths(ImageDataset c)
    {
        string dir = c.ResolvedPath;
        var paths = new string[4];
        var missing = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            string raw = Path.Combine(dir, IdxFiles[i]);
            paths[i] = File.Exists(raw) ? raw : File.Exists(raw + ".gz") ? raw + ".gz" : "";
            if (paths[i] == "") missing.Add(IdxFiles[i] + "[.gz]");
        }
        return (paths, missing.Count == 0 ? null
            : $"{c.Name} data not found in '{dir}': missing {string.Join(", ", missing)}. " +
              $"Run `make data` (or `exprunner data fetch {c.Name}`) to get it, or set dataset.path.");
    }

    private static Raw LoadIdx(ImageDataset c)
    {
        var (paths, missing) = IdxPaths(c);
        if (missing is not null) throw new DataException(missing);
        var (trainX, trainN, rows, cols) = Idx.ReadImages(paths[0]);
        var trainY = Idx.ReadLabels(paths[1]);
        var (testX, testN, trows, tcols) = Idx.ReadImages(paths[2]);
        var testY = Idx.ReadLabels(paths[3]);
        if (trainY.Length != trainN) throw new DataException($"{paths[1]}: {trainY.Length} labels for {trainN} images in {paths[0]}");
        if (testY.Length != testN) throw new DataException($"{paths[3]}: {testY.Length} labels for {testN} images in {paths[2]}");
        if (trows != rows || tcols != cols) throw new DataException($"{paths[2]}: test images are {trows}x{tcols}, training images {rows}x{cols}");
        foreach (var (labels, p) in new[] { (trainY, paths[1]), (testY, paths[3]) })
            if (labels.Any(l => l > 9)) throw new DataException($"{p}: label {labels.Max()} outside 0..9");
        var names = c.Name == "fashion-mnist" ? FashionClasses : null;
        var train = Dataset.FromPixels(c.Name, trainX, trainY, rows * cols, 10, names, imageWidth: cols);
        var test = Dataset.FromPixels(c.Name, testX, testY, rows * cols, 10, names, imageWidth: cols);
        var sha = paths.ToDictionary(p => Path.GetFileName(p), Sha256Of);
        var (source, description) = SourceOf(c.ResolvedPath);
        return new Raw(train, test, source, sha, description);
    }

    /// <summary>Where the files came from: the manifest written by `data fetch`, else the folder.</summary>
    private static (string Source, string? Description) SourceOf(string dir)
    {
        string manifest = Path.Combine(dir, "manifest.json");
        if (File.Exists(manifest))
        {
            try
            {
                using var doc = JsonDocument.Parse(IO.BoundedFile.ReadText(manifest, 1 << 20));
                if (doc.RootElement.TryGetProperty("source", out var s) && s.GetString() is { } src)
                    return (src, doc.RootElement.TryGetProperty("description", out var d) ? d.GetString() : null);
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or IOException) { }
        }
        return (Path.GetFullPath(dir), null);
    }

    private static Raw LoadCsv(CsvConfig c)
    {
        var train = Csv.Read(c.Path, c.LabelColumn);
        var sha = new Dictionary<string, string> { [Path.GetFileName(c.Path)] = Sha256Of(c.Path) };
        Dataset? test = null;
        if (c.TestPath is not null)
        {
            test = Csv.Read(c.TestPath, c.LabelColumn, train.ClassNames);
            if (test.Features != train.Features)
                throw new DataException($"{c.TestPath}: {test.Features} feature columns, {c.Path} has {train.Features}");
            sha[Path.GetFileName(c.TestPath)] = Sha256Of(c.TestPath);
        }
        return new Raw(train, test, Path.GetFullPath(c.Path), sha);
    }

    private static Raw LoadSynthetic(SyntheticDataset c, long experimentSeed)
    {
        var rng = new Rng(c.Seed is long s ? (ulong)s : Rng.Derive(experimentSeed, "dataset"));
        var data = c switch
        {
            GaussianQuantilesConfig g => Synthetic.Generate(c.Name, c.Samples, g.Features, g.Classes, g.Cov, 0, 0, rng),
            XorConfig x => Synthetic.Generate(c.Name, c.Samples, 2, 2, 0, x.Noise, 0, rng),
            CirclesConfig ci => Synthetic.Generate(c.Name, c.Samples, 2, 2, 0, ci.Noise, ci.Factor, rng),
            MoonsConfig m => Synthetic.Generate(c.Name, c.Samples, 2, 2, 0, m.Noise, 0, rng),
            SpiralsConfig sp => Synthetic.Generate(c.Name, c.Samples, 2, sp.Classes, 0, sp.Noise, 0, rng),
            _ => throw new DataException($"no generator for dataset {c.Name}"),
        };
        using var sha = SHA256.Create();
        var bytes = new byte[data.Count * (data.Features * 8 + 4)];
        int o = 0;
        for (int i = 0; i < data.Count; i++)
        {
            for (int f = 0; f < data.Features; f++) { BitConverter.TryWriteBytes(bytes.AsSpan(o), data.Feature(i, f)); o += 8; }
            BitConverter.TryWriteBytes(bytes.AsSpan(o), data.Labels[i]); o += 4;
        }
        return new Raw(data, null, "generated", new() { ["generated"] = Convert.ToHexStringLower(sha.ComputeHash(bytes)) });
    }

    /// <summary>
    /// How many training examples a dataset config gives, without loading it: from a synthetic set's size, or the
    /// IDX labels file's header; null when it cannot be told cheaply (csv files, missing or unreadable data).
    /// </summary>
    public static int? TrainCount(DatasetConfig c)
    {
        int total;
        bool ownTest;
        switch (c)
        {
            case SyntheticDataset s: total = s.Samples; ownTest = false; break;
            case ImageDataset image:
                string raw = Path.Combine(image.ResolvedPath, IdxFiles[1]);
                string path = File.Exists(raw) ? raw : File.Exists(raw + ".gz") ? raw + ".gz" : "";
                if (path == "") return null;
                try
                {
                    using var file = File.OpenRead(path);
                    using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress) : file;
                    Span<byte> header = stackalloc byte[8];
                    stream.ReadExactly(header);
                    if (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header) != 0x00000801) return null;
                    total = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header[4..]);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return null; }
                ownTest = true;
                break;
            default: return null;
        }
        return Counts(c, total, ownTest).Train;
    }

    /// <summary>The split sizes Finish makes of <paramref name="total"/> examples (with a test set of their own, or a held-out share).</summary>
    private static (int Train, int Validation) Counts(DatasetConfig c, int total, bool ownTest)
    {
        int train = ownTest ? total : total - Math.Max(1, (int)Math.Round(total * c.HeldOutTest));
        if (c.TrainLimit > 0 && c.TrainLimit < train) train = c.TrainLimit;
        int nVal = (int)Math.Round(train * c.ValidationSplit);
        return (train - nVal, nVal);
    }

    private static DataSplits Finish(DatasetConfig c, Raw raw)
    {
        var all = Enumerable.Range(0, raw.Train.Count).ToArray();
        int[] trainIdx, testIdx;
        Dataset testData;
        if (raw.Test is not null) { trainIdx = all; testIdx = Enumerable.Range(0, raw.Test.Count).ToArray(); testData = raw.Test; }
        else
        {
            int nTest = Math.Max(1, (int)Math.Round(raw.Train.Count * c.HeldOutTest));
            trainIdx = all[..^nTest]; testIdx = all[^nTest..]; testData = raw.Train;
        }
        if (c.TrainLimit > 0 && c.TrainLimit < trainIdx.Length) trainIdx = trainIdx[..c.TrainLimit];
        if (c.TestLimit > 0 && c.TestLimit < testIdx.Length) testIdx = testIdx[..c.TestLimit];
        int nVal = (int)Math.Round(trainIdx.Length * c.ValidationSplit);
        var validation = nVal > 0 ? new DataSplit("validation", raw.Train, trainIdx[^nVal..]) : null;
        if (nVal > 0) trainIdx = trainIdx[..^nVal];
        if (trainIdx.Length == 0) throw new DataException($"{c.Name}: no training examples left after the test/validation splits");
        var fp = new DatasetFingerprint(c.Name, raw.Source, trainIdx.Length, nVal, testIdx.Length, raw.Sha256) { Description = raw.Description };
        return new DataSplits(new DataSplit("train", raw.Train, trainIdx), validation, new DataSplit("test", testData, testIdx), fp);
    }

    public static string Sha256Of(string path)
    {
        DataFile.Check(path, "data file");
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
