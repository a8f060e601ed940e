using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ExpRunner.IO;

/// <summary>A named tensor: F32 or F64 data with a shape, row-major.</summary>
public sealed record Tensor(string Name, int[] Shape, float[]? F32 = null, double[]? F64 = null)
{
    public string DType => F32 is not null ? "F32" : "F64";
    public int Length => F32?.Length ?? F64!.Length;
    public double this[int i] => F32 is not null ? F32[i] : F64![i];
}

/// <summary>
/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a
/// JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}}, then the
/// little-endian tensor bytes. Readable by the standard safetensors readers.
/// </summary>
public static class Safetensors
{
    public static void Write(string path, IReadOnlyList<Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var header = new JsonObject();
        if (metadata.Count > 0)
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var t in tensors)
        {
            long size = (long)t.Length * (t.F32 is not null ? 4 : 8);
            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.DType,
                ["shape"] = new JsonArray(t.Shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8; // spec: header may be padded with spaces to align the data
        Atomic.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            stream.Write(len);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var t in tensors)
            {
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts");
                if (t.F32 is not null) stream.Write(MemoryMarshal.AsBytes(t.F32.AsSpan()));
                else stream.Write(MemoryMarshal.AsBytes(t.F64!.AsSpan()));
            }
        });
    }

    public static (IReadOnlyList<Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path}: not a safetensors file (too short)");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8)) throw new InvalidDataException($"{path}: header length {n} exceeds the file");
        int dataStart = 8 + (int)n;
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var tensors = new List<Tensor>();
        var offsets = new Dictionary<string, long>();
        var meta = new Dictionary<string, string>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                foreach (var m in prop.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            string dtype = prop.Value.GetProperty("dtype").GetString()!;
            int[] shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offs = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long begin = dataStart + offs[0], end = dataStart + offs[1];
            offsets[prop.Name] = offs[0];
            if (end > bytes.Length || begin > end) throw new InvalidDataException($"{path}: tensor {prop.Name} lies outside the file");
            var span = bytes.AsSpan((int)begin, (int)(end - begin));
            tensors.Add(dtype switch
            {
                "F32" => new Tensor(prop.Name, shape, F32: MemoryMarshal.Cast<byte, float>(span).ToArray()),
                "F64" => new Tensor(prop.Name, shape, F64: MemoryMarshal.Cast<byte, double>(span).ToArray()),
                _ => throw new InvalidDataException($"{path}: tensor {prop.Name} has dtype {dtype}; only F32 and F64 are supported"),
            });
        }
        // In the order of the data in the file, whatever the order of the JSON keys.
        return (tensors.OrderBy(t => offsets[t.Name]).ToList(), meta);
    }
}
