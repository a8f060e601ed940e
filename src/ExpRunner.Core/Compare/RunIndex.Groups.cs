using ExpRunner.Tracking;

namespace ExpRunner.Compare;

/// <summary>
/// A group of runs as the index adds them up (<see cref="RunIndex.Groups"/>): its params' values, how
/// many runs, each metric's values, its runs' statuses, their effective learning rates — no run's row
/// made. Its place among the groups and its statuses' order are those of a comparison of the rows:
/// by the oldest run (start, then id).
/// </summary>
public sealed class IndexGroup
{
    internal IndexGroup(string[] key, int metrics) { Key = key; Values = new List<double>?[metrics]; }

    /// <summary>The group-by params' values ("" where a run has no such param, as grouping rows has it).</summary>
    public string[] Key { get; }
    /// <summary>The values as the oldest run has them ("-" where it has no such param).</summary>
    public string[] Shown { get; internal set; } = [];
    public int N { get; internal set; }
    /// <summary>Each metric's values (by name), once added up.</summary>
    public Dictionary<string, List<double>> Metrics { get; } = new(StringComparer.Ordinal);
    /// <summary>The effective learning rates of its runs (null: one that has none), when asked for.</summary>
    public HashSet<string?> Effective { get; } = [];
    internal List<double>?[] Values { get; private set; }
    internal (long Started, string Id) First { get; set; } = (long.MaxValue, "");
    internal Dictionary<string, (long Started, string Id, int Count)> Statuses { get; } = new(StringComparer.Ordinal);

    /// <summary>The statuses as compare shows a group's: "3 FINISHED, 1 FAILED", in the order the statuses first come.</summary>
    public string StatusText() => string.Join(", ", Statuses.OrderBy(s => s.Value.Started).ThenBy(s => s.Value.Id, StringComparer.Ordinal).Select(s => $"{s.Value.Count} {s.Key}"));

    internal static bool Before(long started, string id, (long Started, string Id) than) =>
        started != than.Started ? started < than.Started : string.CompareOrdinal(id, than.Id) < 0;

    internal void Status(string status, long started, Func<string> id)
    {
        if (!Statuses.TryGetValue(status, out var s)) Statuses[status] = (started, id(), 1);
        else if (started <= s.Started && Before(started, id(), (s.Started, s.Id))) Statuses[status] = (started, id(), s.Count + 1);
        else Statuses[status] = s with { Count = s.Count + 1 };
    }

    internal void Add(IndexGroup other)
    {
        N += other.N;
        if (Before(other.First.Started, other.First.Id, First)) (First, Shown) = (other.First, other.Shown);
        for (int i = 0; i < Values.Length; i++)
            if (other.Values[i] is { } theirs) { if (Values[i] is { } mine) mine.AddRange(theirs); else Values[i] = theirs; }
        foreach (var (status, s) in other.Statuses)
        {
            if (!Statuses.TryGetValue(status, out var t)) { Statuses[status] = s; continue; }
            bool earlier = Before(s.Started, s.Id, (t.Started, t.Id));
            Statuses[status] = (earlier ? s.Started : t.Started, earlier ? s.Id : t.Id, s.Count + t.Count);
        }
        Effective.UnionWith(other.Effective);
    }

    internal void Finish(IReadOnlyList<string> metrics)
    {
        for (int i = 0; i < Values.Length; i++) if (Values[i] is { } v) Metrics[metrics[i]] = v;
        Values = [];
    }
}

public sealed partial class RunIndex
{
    private static readonly string[] EffectiveKeys = Config.Equivalence.EffectiveKeys;

    /// <summary>How many runs are held (earlier attempts of sweep trials run again only with <paramref name="allAttempts"/>).</summary>
    public int Count(bool allAttempts)
    {
        int n = 0;
        StoredRow.Each(_db, allAttempts ? "SELECT count(*) FROM runs" : "SELECT count(*) FROM runs WHERE superseded = 0", [], r => n = (int)r.Int64(0));
        return n;
    }

    /// <summary>
    /// Every run held, grouped by the values of <paramref name="groupBy"/> and added up where the rows
    /// lie: read in parts on several connections, each row's grouped params found in its stored text
    /// and looked up as bytes (a string is made once per distinct combination, not per run) — a grouped
    /// comparison of 1,000,000 runs without a row made for each. Earlier attempts of sweep trials are
    /// left out unless <paramref name="allAttempts"/> (how many is said); a RUNNING run whose process is
    /// gone counts as CRASHED; with <paramref name="effective"/>, each group's effective learning rates.
    /// Also the names of the params its runs have (a group-by key none has is a mistake to say).
    /// Read as held: bring the index up to date (<see cref="Refresh"/>) first.
    /// </summary>
    public (List<IndexGroup> Groups, int Runs, int Superseded, HashSet<string> Params) Groups(IReadOnlyList<string> groupBy, IReadOnlyList<string> metrics, bool allAttempts, bool effective)
    {
        var keySets = KeySets();
        var pool = new ValuePool();
        // Per set of param keys: where each grouped (and effective-rate) key sits, -1 where it has none; per set of metric keys, each metric's place.
        string[] wanted = effective ? [.. groupBy, .. EffectiveKeys] : [.. groupBy];
        var paramSlots = keySets.ToDictionary(k => k.Key, k => wanted.Select(w => k.Value.TryGetSlot(w, out int s) ? s : -1).ToArray());
        var metricSlots = keySets.ToDictionary(k => k.Key, k => metrics.Select(m => k.Value.TryGetSlot(m, out int s) ? s : -1).ToArray());
        var rates = new EffectiveRates();
        var liveness = new Liveness();
        var parts = ScanParts(ScanSelect, _ => new Part(), (part, r) =>
            {
                if (r.Int64(1) != 0 && !allAttempts) { part.Superseded++; return; }
                part.Runs++;
                string status = liveness.Shown(part.StatusOf(r.Bytes(0)), r, pool);
                if (!paramSlots.TryGetValue(r.Int64(4), out var slots) || !metricSlots.TryGetValue(r.Int64(6), out var mslots))
                    throw new IndexDamagedException($"{Path}: a row names a set of keys that is not there");
                if (r.Int64(4) != part.LastKeySet) part.KeySets.Add(part.LastKeySet = r.Int64(4)); // runs in a row mostly share one
                // The grouped fields' bytes, one after another (a missing one marked by a byte UTF-8 never has), looked up as they are.
                var combo = part.Combo(r.Bytes(5), slots, values =>
                {
                    var key = values.Take(groupBy.Count).Select(v => v ?? "").ToArray();
                    if (!part.Groups.TryGetValue(key, out var group)) part.Groups[key] = group = new IndexGroup(key, metrics.Count);
                    string? rate = null;
                    if (effective)
                    {
                        rate = rates.Of(values.AsSpan(groupBy.Count));
                        group.Effective.Add(rate);
                    }
                    return new Part.Found(group, [.. values.Take(groupBy.Count).Select(v => v ?? "-")]);
                }, pool);
                var g = combo.Group;
                g.N++;
                long started = r.Int64(2);
                string? id = null;
                string Id() => id ??= r.Text(3);
                if (started <= g.First.Started && IndexGroup.Before(started, Id(), g.First)) (g.First, g.Shown) = ((started, Id()), combo.Shown);
                g.Status(status, started, Id);
                var mvals = r.Bytes(7);
                if (mvals.Length % sizeof(double) != 0) throw new IndexDamagedException($"{Path}: a row is stored inconsistently");
                var numbers = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(mvals);
                for (int i = 0; i < mslots.Length; i++)
                    if (mslots[i] >= 0 && mslots[i] < numbers.Length) (g.Values[i] ??= []).Add(numbers[mslots[i]]);
            });
        var merged = new Dictionary<string[], IndexGroup>(KeyComparer.Instance);
        int runs = 0, superseded = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            (runs, superseded) = (runs + part.Runs, superseded + part.Superseded);
            foreach (long id in part.KeySets) names.UnionWith(keySets[id].Names);
            foreach (var (key, g) in part.Groups)
                if (merged.TryGetValue(key, out var mine)) mine.Add(g); else merged[key] = g;
        }
        foreach (var g in merged.Values) g.Finish(metrics);
        return ([.. merged.Values.OrderBy(g => g.First.Started).ThenBy(g => g.First.Id, StringComparer.Ordinal)], runs, superseded, names);
    }

    /// <summary>What a scan of every run reads (<see cref="Groups"/>, <see cref="Csv"/>): the columns' places are theirs.</summary>
    private const string ScanSelect = "SELECT status, superseded, started, id, pkeys, pvals, mkeys, mvals, host, pid, pstart FROM runs";

    /// <summary>A scanned run's status as shown: a RUNNING run whose process is gone is CRASHED (each process looked at once).</summary>
    private sealed class Liveness
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<ProcessRef, bool> _alive = new();

        public string Shown(string status, StoredRow r, ValuePool pool)
        {
            if (status != RunStatus.Running) return status;
            var owner = new ProcessRef(r.Pooled(8, pool), (int)r.Int64(9), r.IsNull(10) ? null : new DateTimeOffset(r.Int64(10), TimeSpan.Zero));
            return _alive.GetOrAdd(owner, o => o.IsAlive() != false) ? status : RunStatus.Crashed;
        }
    }

    /// <summary>The effective learning rate of the values of <see cref="EffectiveKeys"/> (null: missing), worked out once per combination.</summary>
    private sealed class EffectiveRates
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string?> _memo = new(StringComparer.Ordinal);

        public string? Of(ReadOnlySpan<string?> fields)
        {
            var p = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < EffectiveKeys.Length; i++) if (fields[i] is { } v) p[EffectiveKeys[i]] = v;
            return _memo.GetOrAdd(string.Join('\u001f', p.Select(kv => kv.Key + "=" + kv.Value)), _ => Config.Equivalence.EffectiveText(p));
        }
    }

    /// <summary>One part's groups and counts, and the combinations of grouped values it has met (by their bytes).</summary>
    private sealed class Part
    {
        public sealed record Found(IndexGroup Group, string[] Shown);

        public Dictionary<string[], IndexGroup> Groups { get; } = new(KeyComparer.Instance);
        public int Runs { get; set; }
        public int Superseded { get; set; }
        /// <summary>The sets of param keys its runs have.</summary>
        public HashSet<long> KeySets { get; } = [];
        public long LastKeySet { get; set; } = long.MinValue;
        private readonly Dictionary<BytesKey, Found> _combos = [];
        private readonly List<(byte[] Bytes, string Text)> _statuses = [];
        private byte[] _buffer = new byte[256];

        public string StatusOf(ReadOnlySpan<byte> bytes)
        {
            foreach (var (b, text) in _statuses) if (bytes.SequenceEqual(b)) return text;
            string s = System.Text.Encoding.UTF8.GetString(bytes);
            _statuses.Add((bytes.ToArray(), s));
            return s;
        }

        /// <summary>The combination of the fields at <paramref name="slots"/> in the packed params: met before, or made by <paramref name="make"/> from their values (null: missing).</summary>
        public Found Combo(ReadOnlySpan<byte> packed, int[] slots, Func<string?[], Found> make, ValuePool pool)
        {
            int max = -1;
            foreach (int s in slots) max = Math.Max(max, s);
            Span<int> starts = stackalloc int[max + 2];
            int known = 0, at = 0;
            while (known <= max)
            {
                starts[known++] = at;
                int next = packed[at..].IndexOf((byte)0x1f);
                if (next < 0) break;
                at += next + 1;
            }
            int length = 0;
            foreach (int s in slots)
            {
                var field = Field(packed, starts, known, s);
                if (_buffer.Length < length + field.Length + 2) Array.Resize(ref _buffer, 2 * (length + field.Length + 2));
                if (s < 0 || s >= known) _buffer[length++] = 0xff; // UTF-8 never has this byte: missing, not empty
                else { field.CopyTo(_buffer.AsSpan(length)); length += field.Length; }
                _buffer[length++] = 0x1f;
            }
            var probe = new BytesKey(_buffer, length);
            if (_combos.TryGetValue(probe, out var found)) return found;
            var values = new string?[slots.Length];
            for (int i = 0; i < slots.Length; i++) values[i] = slots[i] < 0 || slots[i] >= known ? null : pool.Get(Field(packed, starts, known, slots[i]));
            found = make(values);
            _combos[new BytesKey(_buffer.AsSpan(0, length).ToArray(), length)] = found;
            return found;
        }

        private static ReadOnlySpan<byte> Field(ReadOnlySpan<byte> packed, ReadOnlySpan<int> starts, int known, int slot)
        {
            if (slot < 0 || slot >= known) return [];
            int start = starts[slot];
            int end = packed[start..].IndexOf((byte)0x1f) is int n and >= 0 ? start + n : packed.Length;
            return packed[start..end];
        }
    }

    /// <summary>Group keys compared by their values.</summary>
    private sealed class KeyComparer : IEqualityComparer<string[]>
    {
        public static readonly KeyComparer Instance = new();
        public bool Equals(string[]? a, string[]? b) => a is not null && b is not null && a.AsSpan().SequenceEqual(b);
        public int GetHashCode(string[] key)
        {
            var h = new HashCode();
            foreach (var k in key) h.Add(k);
            return h.ToHashCode();
        }
    }
}
