using System.Buffers.Binary;
using System.IO.Compression;

namespace ExpRunner.Data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST: big-endian magic 0x00000803 (images: count, rows,
/// cols, then bytes) or 0x00000801 (labels: count, then bytes); files may be gzip-compressed.
/// </summary>
public static class Idx
{
    public const int ImagesMagic = 0x803, LabelsMagic = 0x801;

    public static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(string path)
    {
        byte[] data = ReadAll(path);
        int magic = Header(data, 0, path);
        if (magic != ImagesMagic)
            throw new DataException($"{path}: not an IDX image file (magic 0x{magic:X8}, expected 0x{ImagesMagic:X8})");
        if (data.Length < 16) throw new DataException($"{path}: truncated header ({data.Length} bytes, need 16)");
        int count = Header(data, 4, path), rows = Header(data, 8, path), cols = Header(data, 12, path);
        if (count < 0 || rows <= 0 || cols <= 0 || rows > 4096 || cols > 4096)
            throw new DataException($"{path}: impossible image header (count {count}, {rows}x{cols})");
        long need = 16L + (long)count * rows * cols;
        if (data.Length != need)
            throw new DataException($"{path}: header says {count} images of {rows}x{cols} ({need} bytes) but the file has {data.Length} bytes{(data.Length < need ? " (truncated)" : "")}");
        return (data[16..], count, rows, cols);
    }

    public static int[] ReadLabels(string path)
    {
        byte[] data = ReadAll(path);
        int magic = Header(data, 0, path);
        if (magic != LabelsMagic)
            throw new DataException($"{path}: not an IDX label file (magic 0x{magic:X8}, expected 0x{LabelsMagic:X8})");
        int count = Header(data, 4, path);
        if (count < 0 || data.Length != 8L + count)
            throw new DataException($"{path}: header says {count} labels but the file has {data.Length - 8} label bytes{(data.Length < 8L + count ? " (truncated)" : "")}");
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = data[8 + i];
        return labels;
    }

    public static void WriteImages(string path, ReadOnlySpan<byte> pixels, int count, int rows, int cols)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(header, ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), cols);
        Write(path, header, pixels);
    }

    public static void WriteLabels(string path, ReadOnlySpan<byte> labels)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), labels.Length);
        Write(path, header, labels);
    }

    private static void Write(string path, byte[] header, ReadOnlySpan<byte> body)
    {
        var tmp = path + ".tmp";
        using (var fs = File.Create(tmp))
        {
            Stream s = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(fs, CompressionLevel.Optimal) : fs;
            s.Write(header);
            s.Write(body);
            s.Flush();
            if (s != fs) s.Dispose();
        }
        File.Move(tmp, path, overwrite: true);
    }

    private static int Header(byte[] data, int offset, string path)
    {
        if (data.Length < offset + 4) throw new DataException($"{path}: truncated header ({data.Length} bytes)");
        return BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(offset));
    }

    private static byte[] ReadAll(string path)
    {
        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                gz.CopyTo(ms);
                return ms.ToArray();
            }
            catch (InvalidDataException e)
            {
                throw new DataException($"{path}: corrupt gzip data ({e.Message})");
            }
        }
        return raw;
    }
}
