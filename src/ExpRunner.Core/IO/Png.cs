using System.Buffers.Binary;
using System.IO.Compression;

namespace ExpRunner.IO;

/// <summary>PNG files of 8-bit grayscale images (an example's pixels, as the UI's gallery shows them).</summary>
public static class Png
{
    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>The PNG of a width × height grayscale image, <paramref name="pixels"/> row by row, each pixel enlarged <paramref name="scale"/> times.</summary>
    public static byte[] Grayscale(ReadOnlySpan<byte> pixels, int width, int scale = 1)
    {
        if (width <= 0 || pixels.Length % width != 0) throw new ArgumentException($"{pixels.Length} pixels do not make rows of {width}");
        if (scale is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(scale), "between 1 and 16");
        int height = pixels.Length / width, w = width * scale, h = height * scale;
        var raw = new byte[h * (w + 1)]; // each row: filter type 0, then the pixels
        for (int y = 0; y < h; y++)
        {
            var row = pixels.Slice(y / scale * width, width);
            int at = y * (w + 1) + 1;
            for (int x = 0; x < w; x++) raw[at + x] = row[x / scale];
        }
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, w);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), h);
        header[8] = 8; // bit depth
        header[9] = 0; // grayscale; compression, filter and interlace methods 0
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", idat.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, data.Length);
        s.Write(b);
        var typed = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++) typed[i] = (byte)type[i];
        data.CopyTo(typed.AsSpan(4));
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(b, Crc(typed));
        s.Write(b);
    }

    /// <summary>CRC-32 (ISO 3309, as PNG specifies it).</summary>
    public static uint Crc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte x in data) c = CrcTable[(c ^ x) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
