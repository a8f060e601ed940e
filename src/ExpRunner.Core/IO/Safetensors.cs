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
    public static void Write(string path, IReadOnlyList<Tensor> tensors, IReadOnlyDictionary<string, string> metadata, bool durable = true)
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
        }, durable);
    }

    /// <summary>A JSON header larger than this is refused (the format's own limit is 100 MB).</summary>
    public const long MaxHeader = 100_000_000;

    /// <summary>Every tensor of the file, checked (see <see cref="ReadHeader"/>) and read.</summary>
    public static (IReadOnlyList<Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        var header = ReadHeader(path);
        return (header.Tensors.Select(t => Load(header, t)).ToList(), header.Metadata);
    }

    /// <summary>
    /// The header, checked before any tensor data is read: JSON of the documented shape, dtypes F32
    /// or F64, non-negative shapes whose product fits an array, offsets inside the file, each
    /// tensor's bytes exactly its shape's product, no two tensors overlapping.
    /// </summary>
    public static SafetensorsHeader ReadHeader(string path)
    {
        long length = BoundedFile.Check(path, long.MaxValue);
        InvalidDataException Bad(string why) => new($"{path}: not a valid safetensors file ({why})");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Span<byte> len = stackalloc byte[8];
        if (length < 8 || stream.ReadAtLeast(len, 8, throwOnEndOfStream: false) < 8) throw Bad("shorter than its 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n > MaxHeader || n > (ulong)(length - 8)) throw Bad($"a header of {n} bytes in a file of {length}");
        var json = new byte[n];
        stream.ReadExactly(json);
        long dataStart = 8 + (long)n, dataLength = length - dataStart;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw Bad($"the header is not JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad("the header is not a JSON object");
            var infos = new List<TensorInfo>();
            var meta = new Dictionary<string, string>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad("__metadata__ is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                        meta[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw Bad($"metadata '{m.Name}' is not a string");
                    continue;
                }
                var v = prop.Value;
                if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
                    || !v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
                    || !v.TryGetProperty("data_offsets", out var of) || of.ValueKind != JsonValueKind.Array || of.GetArrayLength() != 2)
                    throw Bad($"tensor '{prop.Name}' needs dtype, shape and two data_offsets");
                string dtype = dt.GetString()!;
                int size = dtype switch { "F32" => 4, "F64" => 8, _ => throw Bad($"tensor '{prop.Name}' has dtype {dtype}; only F32 and F64 are supported") };
                var shape = new List<int>();
                long count = 1;
                foreach (var d in sh.EnumerateArray())
                {
                    if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0) throw Bad($"tensor '{prop.Name}' has a shape that is not a list of non-negative integers");
                    shape.Add(dim);
                    count *= dim;
                    if (count > Array.MaxLength) throw Bad($"tensor '{prop.Name}' has more elements than an array holds");
                }
                var offsets = of.EnumerateArray().Select(o => o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out long x) ? x : -1).ToArray();
                long begin = offsets[0], end = offsets[1];
                if (begin < 0 || end < begin || end > dataLength) throw Bad($"tensor '{prop.Name}' has data_offsets [{begin}, {end}] outside the {dataLength} data bytes");
                if (end - begin != count * size) throw Bad($"tensor '{prop.Name}' of shape [{string.Join(",", shape)}] {dtype} needs {count * size} bytes, its offsets give {end - begin}");
                infos.Add(new TensorInfo(prop.Name, dtype, shape.ToArray(), dataStart + begin, dataStart + end));
            }
            // In the order of the data in the file, whatever the order of the JSON keys.
            infos.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            for (int i = 1; i < infos.Count; i++)
                if (infos[i].Begin < infos[i - 1].End) throw Bad($"tensors '{infos[i - 1].Name}' and '{infos[i].Name}' overlap");
            return new SafetensorsHeader(path, infos, meta);
        }
    }

    /// <summary>One tensor's data, read from its place in the file (nothing else is read).</summary>
    public static Tensor Load(SafetensorsHeader header, TensorInfo t)
    {
        using var stream = new FileStream(header.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        stream.Position = t.Begin;
        var bytes = new byte[t.End - t.Begin];
        stream.ReadExactly(bytes);
        return t.DType == "F32"
            ? new Tensor(t.Name, t.Shape, F32: MemoryMarshal.Cast<byte, float>(bytes).ToArray())
            : new Tensor(t.Name, t.Shape, F64: MemoryMarshal.Cast<byte, double>(bytes).ToArray());
    }
}

/// <summary>Where a tensor is in a safetensors file (absolute byte offsets) and what it is.</summary>
public sealed record TensorInfo(string Name, string DType, int[] Shape, long Begin, long End);

/// <summary>A checked safetensors header: its tensors in file order and its metadata.</summary>
public sealed record SafetensorsHeader(string Path, IReadOnlyList<TensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata)
{
    public TensorInfo? this[string name] => Tensors.FirstOrDefault(t => t.Name == name);
}
