using System.Diagnostics;
using ExpRunner.IO;
using ExpRunner.Nn;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Nn;

/// <summary>
/// Our own generator and PNG writer against answers that do not come from our code: the published
/// first outputs of xoshiro256** and SplitMix64, the standard CRC-32 check value, and Python's own
/// zlib reading back the PNG we write.
/// </summary>
public class KnownAnswerTests
{
    [Fact]
    public void Xoshiro256_starstar_gives_its_published_first_outputs()
    {
        // Blackman & Vigna's reference implementation from the state {1, 2, 3, 4}.
        var rng = new Rng(0) { State = [1, 2, 3, 4] };
        Assert.Equal([11520UL, 0UL, 1509978240UL, 1215971899390074240UL, 1216172134540287360UL, 607988272756665600UL],
            Enumerable.Range(0, 6).Select(_ => rng.NextUInt64()));
    }

    [Fact]
    public void Seeding_goes_through_splitmix64_whose_first_outputs_from_zero_are_published()
    {
        // SplitMix64 from x = 0: 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f, then the state of seed 0 is those and one more.
        var rng = new Rng(0);
        Assert.Equal([0xe220a8397b1dcdafUL, 0x6e789e6aa1b965f4UL, 0x06c45d188009454fUL], rng.State.Take(3));
    }

    [Fact]
    public void The_crc_of_a_png_chunk_is_the_standard_crc32()
    {
        Assert.Equal(0xCBF43926u, Png.Crc("123456789"u8)); // the CRC-32 check value
    }

    [Fact]
    public void A_png_we_write_reads_back_with_pythons_zlib_as_the_pixels_we_gave()
    {
        byte[] pixels = [0, 64, 128, 255, 17, 200];
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("a.png"), Png.Grayscale(pixels, width: 3, scale: 2));
        const string Script = """
            import struct, sys, zlib
            data = open(sys.argv[1], 'rb').read()
            assert data[:8] == b'\x89PNG\r\n\x1a\n', 'signature'
            pos, idat, ihdr = 8, b'', None
            while pos < len(data):
                n, kind = struct.unpack('>I4s', data[pos:pos + 8])
                body = data[pos + 8:pos + 8 + n]
                crc, = struct.unpack('>I', data[pos + 8 + n:pos + 12 + n])
                assert zlib.crc32(kind + body) & 0xffffffff == crc, 'crc of ' + kind.decode()
                if kind == b'IHDR': ihdr = struct.unpack('>IIBBBBB', body)
                if kind == b'IDAT': idat += body
                pos += 12 + n
            w, h, depth, colour, _, _, interlace = ihdr
            assert (depth, colour, interlace) == (8, 0, 0), ihdr
            raw = zlib.decompress(idat)
            rows = [raw[r * (w + 1):(r + 1) * (w + 1)] for r in range(h)]
            assert all(row[0] == 0 for row in rows), 'filter type 0'
            print(w, h, ' '.join(str(b) for row in rows for b in row[1:]))
            """;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", Script, dir.File("a.png") }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, error);
        // 3 × 2 pixels drawn at twice the size: 6 × 4, each pixel a 2 × 2 block.
        Assert.Equal("6 4 0 0 64 64 128 128 0 0 64 64 128 128 255 255 17 17 200 200 255 255 17 17 200 200\n", output);
    }
}
