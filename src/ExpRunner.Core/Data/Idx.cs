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
        using var stream = Open(path);
        Span<byte> header = stackalloc byte[16];
        ReadHeader(stream, header[..4], path);
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != ImagesMagic)
            throw new DataException($"{path}: not an IDX image file (magic 0x{magic:X8}, expected 0x{ImagesMagic:X8})");
        ReadHeader(stream, header[4..], path);
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]), rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]),
            cols = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (count < 0 || rows <= 0 || cols <= 0 || rows > 4096 || cols > 4096 || (long)count * rows * cols > int.MaxValue)
            throw new DataException($"{path}: impossible image header (count {count}, {rows}x{cols})");
        // Straight into an array of the exact size: no intermediate copies of a 47 MB file.
        var pixels = new byte[count * rows * cols];
        ReadBody(stream, pixels, path, $"{count} images of {rows}x{cols}", 16);
        return (pixels, count, rows, cols);
    }

    public static int[] ReadLabels(string path)
    {
        using var stream = Open(path);
        Span<byte> header = stackalloc byte[8];
        ReadHeader(stream, header[..4], path);
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != LabelsMagic)
            throw new DataException($"{path}: not an IDX label file (magic 0x{magic:X8}, expected 0x{LabelsMagic:X8})");
        ReadHeader(stream, header[4..], path);
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0) throw new DataException($"{path}: impossible label count {count}");
        var bytes = new byte[count];
        ReadBody(stream, bytes, path, $"{count} labels", 8);
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = bytes[i];
        return labels;
    }

    private static Stream Open(string path)
    {
        DataFile.Check(path, "IDX file");
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        return b0 == 0x1f && b1 == 0x8b ? new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16) : file;
    }

    private static void ReadHeader(Stream stream, Span<byte> into, string path)
    {
        if (Fill(stream, into, path) < into.Length) throw new DataException($"{path}: truncated header");
    }

    private static void ReadBody(Stream stream, byte[] into, string path, string what, int headerBytes)
    {
        int got = Fill(stream, into, path);
        if (got < into.Length)
            throw new DataException($"{path}: header says {what} ({headerBytes + (long)into.Length} bytes) but the file has {headerBytes + got} bytes (truncated)");
        Span<byte> extra = stackalloc byte[4096];
        long more = 0;
        for (int n; (n = Fill(stream, extra, path)) > 0;) more += n;
        if (more > 0)
            throw new DataException($"{path}: header says {what} ({headerBytes + (long)into.Length} bytes) but the file has {headerBytes + into.Length + more} bytes");
    }

    private static int Fill(Stream stream, Span<byte> into, string path)
    {
        try { return stream.ReadAtLeast(into, into.Length, throwOnEndOfStream: false); }
        catch (InvalidDataException e) { throw new DataException($"{path}: corrupt gzip data ({e.Message})"); }
    }

    public static void WriteImages(string path, byte[] pixels, int count, int rows, int cols)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(header, ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), cols);
        Write(path, header, pixels);
    }

    public static void WriteLabels(string path, byte[] labels)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), labels.Length);
        Write(path, header, labels);
    }

    private static void Write(string path, byte[] header, byte[] body) => IO.Atomic.Write(path, file =>
    {
        using var gzip = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true) : null;
        Stream target = (Stream?)gzip ?? file;
        target.Write(header);
        target.Write(body);
    });
}
