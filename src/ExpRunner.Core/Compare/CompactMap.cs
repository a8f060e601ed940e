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

    private string At(int slot)
    {
        var starts = _starts ??= Starts();
        int start = starts[slot], end = slot + 1 < starts.Length ? starts[slot + 1] - 1 : packed.Length;
        return pool.Get(packed.Span[start..end]);
    }

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

/// <summary>One string per distinct value, safe to use from several threads (the UI serves requests in parallel).</summary>
public sealed class ValuePool
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public ValuePool() => _bySpan = _values.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The one string of these UTF-8 bytes (decoded on the stack when short: no string made for a value already held).</summary>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > 256) return Get(System.Text.Encoding.UTF8.GetString(utf8).AsSpan());
        Span<char> chars = stackalloc char[256];
        int n = System.Text.Encoding.UTF8.GetChars(utf8, chars);
        return Get(chars[..n]);
    }

    public string Get(ReadOnlySpan<char> text)
    {
        if (_bySpan.TryGetValue(text, out var v)) return v;
        string s = text.ToString();
        return _values.GetOrAdd(s, s);
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
