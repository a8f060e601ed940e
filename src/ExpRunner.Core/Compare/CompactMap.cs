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

/// <summary>A read-only dictionary of a shared <see cref="KeySet"/> and this row's values.</summary>
public sealed class CompactMap<T>(KeySet keys, T[] values) : IReadOnlyDictionary<string, T>
{
    public T this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key);
    public IEnumerable<string> Keys => keys.Names;
    public IEnumerable<T> Values => values;
    public int Count => values.Length;
    public bool ContainsKey(string key) => keys.TryGetSlot(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out T value)
    {
        if (keys.TryGetSlot(key, out int slot)) { value = values[slot]; return true; }
        value = default;
        return false;
    }

    public IEnumerator<KeyValuePair<string, T>> GetEnumerator()
    {
        for (int i = 0; i < values.Length; i++) yield return new(keys.Names[i], values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// Param values packed in one string (separated by U+001F) and decoded one value at a time when
/// asked for: listing 100,000 runs touches none of them, grouping by one param decodes that one.
/// Decoded values are shared through a <see cref="ValuePool"/> (a learning rate of 0.1 is one string).
/// </summary>
public sealed class PackedMap(KeySet keys, string packed, ValuePool pool) : IReadOnlyDictionary<string, string>
{
    public const char Separator = '\u001f';

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
        return pool.Get(packed.AsSpan(start, end - start));
    }

    private int[] Starts()
    {
        var starts = new int[keys.Names.Length];
        int at = 0;
        for (int i = 0; i < starts.Length; i++)
        {
            starts[i] = at;
            int next = packed.IndexOf(Separator, at);
            if (next < 0)
            {
                if (i != starts.Length - 1) throw new InvalidDataException($"packed values hold fewer than {keys.Names.Length} fields");
                break;
            }
            at = next + 1;
        }
        return starts;
    }

    /// <summary>Adds to <paramref name="differing"/> each key whose value here is not the one in <paramref name="values"/> (absent there counts as different).</summary>
    public void Differing(IReadOnlyDictionary<string, string> values, HashSet<string> differing)
    {
        int start = 0;
        for (int i = 0; i < keys.Names.Length; i++)
        {
            int end = packed.IndexOf(Separator, start);
            if (end < 0) end = packed.Length;
            string key = keys.Names[i];
            if (!differing.Contains(key) && (!values.TryGetValue(key, out var v) || !packed.AsSpan(start, end - start).SequenceEqual(v))) differing.Add(key);
            start = end + 1;
        }
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        int start = 0;
        for (int i = 0; i < keys.Names.Length; i++)
        {
            int end = packed.IndexOf(Separator, start);
            if (end < 0) end = packed.Length;
            yield return new(keys.Names[i], pool.Get(packed.AsSpan(start, end - start)));
            start = end + 1;
        }
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
