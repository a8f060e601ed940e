using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace ExpRunner.Compare;

/// <summary>
/// The names of a set of keys, shared by every row that has exactly these keys (runs of one
/// experiment do), so that 100,000 rows hold one name array and one lookup between them.
/// </summary>
public sealed class KeySet
{
    public string[] Names { get; }
    private readonly Dictionary<string, int> _slot;

    public KeySet(string[] names)
    {
        Names = names;
        _slot = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++) _slot[names[i]] = i;
    }

    public bool TryGetSlot(string key, out int slot) => _slot.TryGetValue(key, out slot);
}

/// <summary>A read-only dictionary of a shared <see cref="KeySet"/> and this row's values (a slice of an <see cref="Arena"/> when read from the index).</summary>
public sealed class CompactMap<T>(KeySet keys, ReadOnlyMemory<T> values) : IReadOnlyDictionary<string, T>
{
    /// <summary>Its set of keys (shared with every row that has the same keys).</summary>
    internal KeySet KeySet => keys;
    /// <summary>The value at a slot of <see cref="KeySet"/>.</summary>
    internal T ValueAt(int slot) => values.Span[slot];

    public T this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key);
    public IEnumerable<string> Keys => keys.Names;
    public IEnumerable<T> Values { get { for (int i = 0; i < values.Length; i++) yield return values.Span[i]; } }
    public int Count => values.Length;
    public bool ContainsKey(string key) => keys.TryGetSlot(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out T value)
    {
        if (keys.TryGetSlot(key, out int slot)) { value = values.Span[slot]; return true; }
        value = default;
        return false;
    }

    public IEnumerator<KeyValuePair<string, T>> GetEnumerator()
    {
        for (int i = 0; i < values.Length; i++) yield return new(keys.Names[i], values.Span[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// Param values packed in one UTF-8 text (separated by U+001F), as the index stores them, and decoded
/// one value at a time when asked for: listing 100,000 runs touches none of them, grouping by one
/// param decodes that one. Decoded values are shared through a <see cref="ValuePool"/> (a learning
/// rate of 0.1 is one string); the text is a slice of an <see cref="Arena"/>, not an object per run.
/// </summary>
public sealed class PackedMap(KeySet keys, ReadOnlyMemory<byte> packed, ValuePool pool) : IReadOnlyDictionary<string, string>
{
    public const char Separator = '\u001f';
    private const byte SeparatorByte = 0x1f;

    /// <summary>Its set of keys (shared with every row that has the same keys).</summary>
    internal KeySet KeySet => keys;
    /// <summary>The value at a slot of <see cref="KeySet"/>.</summary>
    internal string ValueAt(int slot) => At(slot);

    /// <summary>The value at a slot of <see cref="KeySet"/> as its stored UTF-8 bytes (none made).</summary>
    internal ReadOnlySpan<byte> BytesAt(int slot)
    {
        var starts = _starts ??= Starts();
        int start = starts[slot], end = slot + 1 < starts.Length ? starts[slot + 1] - 1 : packed.Length;
        return packed.Span[start..end];
    }

    public string this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key);
    public IEnumerable<string> Keys => keys.Names;
    public IEnumerable<string> Values => this.Select(p => p.Value);
    public int Count => keys.Names.Length;
    public bool ContainsKey(string key) => keys.TryGetSlot(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        if (!keys.TryGetSlot(key, out int slot)) { value = null; return false; }
        value = At(slot);
        return true;
    }

    /// <summary>Where each value starts (the separators' places, found on the first look; a race between two first looks makes the same array twice).</summary>
    private int[]? _starts;

    private string At(int slot) => pool.Get(BytesAt(slot));

    private int[] Starts()
    {
        var starts = new int[keys.Names.Length];
        var text = packed.Span;
        int at = 0;
        for (int i = 0; i < starts.Length; i++)
        {
            starts[i] = at;
            int next = text[at..].IndexOf(SeparatorByte) is int n and >= 0 ? at + n : -1;
            if (next < 0)
            {
                if (i != starts.Length - 1) throw new InvalidDataException($"packed values hold fewer than {keys.Names.Length} fields");
                break;
            }
            at = next + 1;
        }
        return starts;
    }

    /// <summary>Adds to <paramref name="differing"/> each key whose value here is not the one in <paramref name="utf8Values"/> (absent there counts as different).</summary>
    public void Differing(IReadOnlyDictionary<string, byte[]> utf8Values, HashSet<string> differing)
    {
        var text = packed.Span;
        int start = 0;
        for (int i = 0; i < keys.Names.Length; i++)
        {
            int end = text[start..].IndexOf(SeparatorByte) is int n and >= 0 ? start + n : text.Length;
            string key = keys.Names[i];
            if (!differing.Contains(key) && (!utf8Values.TryGetValue(key, out var v) || !text[start..end].SequenceEqual(v))) differing.Add(key);
            start = end + 1;
        }
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        for (int i = 0; i < keys.Names.Length; i++) yield return new(keys.Names[i], At(i));
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// A few named keys read from many rows' maps: where each key sits in a set of keys is found once per
/// set (rows read from the index share a handful), not looked up by name in every row. Maps of other
/// kinds (rows read from folders) are asked by name. Safe to share between threads.
/// </summary>
public sealed class NamedSlots(IReadOnlyList<string> names)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<KeySet, int[]> _slots = new(ReferenceEqualityComparer.Instance);

    public IReadOnlyList<string> Names { get; } = names;

    private int[] SlotsOf(KeySet set) => _slots.GetOrAdd(set, s => [.. Names.Select(n => s.TryGetSlot(n, out int slot) ? slot : -1)]);

    /// <summary>
    /// Reads the names from one map after another on one thread: the last set of keys' places kept at
    /// hand (rows of one experiment come together), the shared table asked only when the set changes.
    /// </summary>
    public Reader Read() => new(this);

    public sealed class Reader(NamedSlots owner)
    {
        private KeySet? _set;
        private int[] _slots = [];

        private int[] Slots(KeySet set)
        {
            if (!ReferenceEquals(set, _set)) (_set, _slots) = (set, owner.SlotsOf(set));
            return _slots;
        }

        /// <summary>
        /// The names' values in <paramref name="map"/> as one run of bytes in <paramref name="buffer"/> (each value's
        /// UTF-8 bytes and a separator; a missing one a byte UTF-8 never has): its length, or -1 when the map does
        /// not hold its values as bytes. Equal runs of bytes are equal values.
        /// </summary>
        public int Bytes(IReadOnlyDictionary<string, string> map, ref byte[] buffer)
        {
            if (map is not PackedMap packed) return -1;
            var slots = Slots(packed.KeySet);
            int length = 0;
            foreach (int slot in slots)
            {
                var field = slot >= 0 ? packed.BytesAt(slot) : [];
                if (buffer.Length < length + field.Length + 2) Array.Resize(ref buffer, 2 * (length + field.Length + 2));
                if (slot < 0) buffer[length++] = 0xff;
                else { field.CopyTo(buffer.AsSpan(length)); length += field.Length; }
                buffer[length++] = 0x1f;
            }
            return length;
        }

        /// <summary>The value of the <paramref name="i"/>th name in <paramref name="map"/>, or null.</summary>
        public string? Get(IReadOnlyDictionary<string, string> map, int i)
        {
            if (map is PackedMap packed) return Slots(packed.KeySet)[i] is int slot and >= 0 ? packed.ValueAt(slot) : null;
            return map.TryGetValue(owner.Names[i], out var v) ? v : null;
        }

        /// <summary>Each name's value in <paramref name="map"/> handed to <paramref name="found"/> with its place among the names (those it has).</summary>
        public void Each(IReadOnlyDictionary<string, double> map, Action<int, double> found)
        {
            if (map is CompactMap<double> compact)
            {
                var slots = Slots(compact.KeySet);
                for (int i = 0; i < slots.Length; i++) if (slots[i] >= 0) found(i, compact.ValueAt(slots[i]));
                return;
            }
            for (int i = 0; i < owner.Names.Count; i++) if (map.TryGetValue(owner.Names[i], out double v)) found(i, v);
        }
    }
}

/// <summary>Bytes as a dictionary key (a probe shares a buffer; a stored key owns its copy).</summary>
internal readonly struct BytesKey(byte[] bytes, int length) : IEquatable<BytesKey>
{
    private readonly int _hash = HashOf(bytes.AsSpan(0, length));
    public bool Equals(BytesKey other) => _hash == other._hash && bytes.AsSpan(0, length).SequenceEqual(other.Bytes);
    private ReadOnlySpan<byte> Bytes => bytes.AsSpan(0, length);
    public override bool Equals(object? obj) => obj is BytesKey k && Equals(k);
    public override int GetHashCode() => _hash;
    /// <summary>A key of its own (a copy of the probe's bytes), to store.</summary>
    public BytesKey Owned() => new(Bytes.ToArray(), length);

    /// <summary>The hash of bytes by their contents (the one both byte keys here use).</summary>
    internal static int HashOf(ReadOnlySpan<byte> data)
    {
        var h = new HashCode();
        h.AddBytes(data);
        return h.ToHashCode();
    }
}

/// <summary>
/// One string per distinct value, safe to use from several threads (the UI serves requests in
/// parallel). A value asked for by its UTF-8 bytes is found by those bytes (no decoding of a value
/// already held: grouping 100,000 runs asks for hundreds of thousands of values).
/// </summary>
public sealed class ValuePool
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<byte[], string> _utf8 = new(Utf8Comparer.Instance);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<byte[], string>.AlternateLookup<ReadOnlySpan<byte>> _byUtf8;

    public ValuePool()
    {
        _bySpan = _values.GetAlternateLookup<ReadOnlySpan<char>>();
        _byUtf8 = _utf8.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>The one string of these UTF-8 bytes.</summary>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (_byUtf8.TryGetValue(utf8, out var held)) return held;
        string value;
        if (utf8.Length > 256) value = Get(System.Text.Encoding.UTF8.GetString(utf8).AsSpan());
        else
        {
            Span<char> chars = stackalloc char[256];
            int n = System.Text.Encoding.UTF8.GetChars(utf8, chars);
            value = Get(chars[..n]);
        }
        return _utf8.GetOrAdd(utf8.ToArray(), value);
    }

    public string Get(ReadOnlySpan<char> text)
    {
        if (_bySpan.TryGetValue(text, out var v)) return v;
        string s = text.ToString();
        return _values.GetOrAdd(s, s);
    }

    /// <summary>Bytes compared and hashed by their contents, also as spans (the lookup without a copy).</summary>
    private sealed class Utf8Comparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly Utf8Comparer Instance = new();
        public bool Equals(byte[]? a, byte[]? b) => a is not null && b is not null && a.AsSpan().SequenceEqual(b);
        public int GetHashCode(byte[] bytes) => BytesKey.HashOf(bytes);
        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);
        public int GetHashCode(ReadOnlySpan<byte> alternate) => BytesKey.HashOf(alternate);
        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}

/// <summary>
/// Where the rows read from the index keep their packed params and metric values: large shared
/// blocks (kept whole by the collector, never copied from young to old) rather than two small arrays
/// a run. One reader thread's alone (not safe to share).
/// </summary>
public sealed class Arena
{
    private const int Block = 1 << 20;
    private byte[] _bytes = [];
    private int _usedBytes;
    private double[] _doubles = [];
    private int _usedDoubles;

    /// <summary>A copy of <paramref name="data"/> in the arena.</summary>
    public ReadOnlyMemory<byte> Add(ReadOnlySpan<byte> data)
    {
        if (data.Length > Block / 4) return data.ToArray();
        if (_usedBytes + data.Length > _bytes.Length) (_bytes, _usedBytes) = (new byte[Block], 0);
        data.CopyTo(_bytes.AsSpan(_usedBytes));
        var slice = new ReadOnlyMemory<byte>(_bytes, _usedBytes, data.Length);
        _usedBytes += data.Length;
        return slice;
    }

    /// <summary>Doubles stored as their bytes (little-endian, as the index writes them), copied into the arena.</summary>
    public ReadOnlyMemory<double> AddDoubles(ReadOnlySpan<byte> raw)
    {
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(raw);
        if (values.Length > Block / 32) return values.ToArray();
        if (_usedDoubles + values.Length > _doubles.Length) (_doubles, _usedDoubles) = (new double[Block / sizeof(double)], 0);
        values.CopyTo(_doubles.AsSpan(_usedDoubles));
        var slice = new ReadOnlyMemory<double>(_doubles, _usedDoubles, values.Length);
        _usedDoubles += values.Length;
        return slice;
    }
}
