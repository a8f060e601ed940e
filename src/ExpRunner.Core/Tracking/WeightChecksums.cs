using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace ExpRunner.Tracking;

/// <summary>One epoch's checksum of one layer's weights and biases (the first 16 hex digits of SHA-256 of their bytes).</summary>
public sealed record LayerChecksum(int Epoch, int Layer, string Weight, string Bias);

/// <summary>
/// checksums.csv: after every epoch, a checksum of each layer's weights and biases as they are then. Training is
/// deterministic (whatever the thread count), so two runs whose checksums agree hold the same weights bit for bit,
/// and the first epoch and layer where they disagree is where their weights first differ (what `exprunner diff` says).
/// </summary>
public static class WeightChecksums
{
    public const string File = "checksums.csv";
    public const string Header = "epoch,layer,weight,bias";

    public static string Of<T>(ReadOnlySpan<T> values) where T : unmanaged =>
        Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(values)))[..16];

    /// <summary>Appends an epoch's lines (the file is started with its header when there is none).</summary>
    public static void Append(string path, int epoch, IReadOnlyList<(string Weight, string Bias)> layers)
    {
        var text = new StringBuilder();
        if (!System.IO.File.Exists(path)) text.Append(Header).Append('\n');
        for (int l = 0; l < layers.Count; l++) text.Append(CultureInfo.InvariantCulture, $"{epoch},{l},{layers[l].Weight},{layers[l].Bias}\n");
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        file.Write(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>A resume keeps the epochs up to <paramref name="fromEpoch"/> (those after are trained again).</summary>
    public static void Keep(string path, int fromEpoch)
    {
        if (!System.IO.File.Exists(path)) return;
        var kept = Read(path).Where(c => c.Epoch <= fromEpoch);
        IO.Atomic.WriteText(path, Header + "\n" + string.Concat(kept.Select(c => $"{c.Epoch.ToString(CultureInfo.InvariantCulture)},{c.Layer.ToString(CultureInfo.InvariantCulture)},{c.Weight},{c.Bias}\n")));
    }

    /// <summary>The checksums of a file (a cut last line is left out); <see cref="InvalidDataException"/> naming the line of a bad one.</summary>
    public static List<LayerChecksum> Read(string path)
    {
        var rows = new List<LayerChecksum>();
        var lines = IO.BoundedFile.ReadText(path, 256L << 20).Split('\n');
        if (lines[0] != Header) throw new InvalidDataException($"{path}: not a checksums file (its first line is not '{Header}')");
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var c = lines[i].Split(',');
            bool last = i == lines.Length - 1; // no newline after it: a cut line
            if (c.Length != 4 || !int.TryParse(c[0], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch) || !int.TryParse(c[1], NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
            {
                if (last) break;
                throw new InvalidDataException($"{path}:{i + 1}: not epoch,layer,weight,bias");
            }
            if (last) break;
            rows.Add(new LayerChecksum(epoch, layer, c[2], c[3]));
        }
        return rows;
    }
}
