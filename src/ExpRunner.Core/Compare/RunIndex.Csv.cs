using System.Globalization;
using ExpRunner.Tracking;

namespace ExpRunner.Compare;

public sealed partial class RunIndex
{
    /// <summary>
    /// Every run held as compare's CSV (run_id, the params that differ, effective_lr, the metrics, status),
    /// written from where the rows lie: a first pass over the table finds which params differ, a second
    /// writes each run's line from its stored bytes (params copied as they are stored, numbers formatted
    /// straight into UTF-8) — no row or cell made for a run; the lines are then put in the order of a
    /// comparison of the rows (by start, then id) and written. The same text as
    /// <see cref="Render.Csv"/> of <see cref="Comparison.Build"/> over the same runs, for more than
    /// <see cref="Comparison.MarkedRuns"/> runs (no same_config column either way) — tested. Read as held:
    /// bring the index up to date (<see cref="Refresh"/>) first.
    /// </summary>
    public (int Runs, int Superseded) Csv(Stream output, bool allAttempts)
    {
        var keySets = KeySets();
        var metricNames = Comparison.MetricColumns.Select(c => c.Name).ToArray();
        const string select = ScanSelect;

        // Pass 1: per key, the one value every run has (or that some run differs or lacks it); the sets of
        // keys in the order their oldest run comes (the columns' order); which metrics there are; the
        // effective-rate combinations.
        var firsts = ScanParts(select, _ => new Survey(), (s, r) =>
        {
            if (r.Int64(1) != 0 && !allAttempts) return;
            long pkeys = r.Int64(4), started = r.Int64(2);
            // The run's id is read only when it could be its set's oldest.
            if (!s.Oldest.TryGetValue(pkeys, out var o) || (started <= o.Item1 && IndexGroup.Before(started, r.Text(3), o))) s.Oldest[pkeys] = (started, r.Text(3));
            if (r.Int64(6) != s.LastMetrics) s.Metrics.Add(s.LastMetrics = r.Int64(6));
            if (!keySets.TryGetValue(pkeys, out var set)) throw new IndexDamagedException($"{Path}: a row names a set of keys that is not there");
            var slots = s.SlotsOf(pkeys, set.Names.Length);
            var packed = r.Bytes(5);
            int start = 0;
            for (int i = 0; i < slots.Length; i++)
            {
                int end = packed[start..].IndexOf((byte)0x1f) is int n and >= 0 ? start + n : packed.Length;
                ref var slot = ref slots[i];
                if (!slot.Differs)
                {
                    var field = packed[start..Math.Max(start, end)];
                    if (slot.Value is null) slot.Value = field.ToArray();
                    else if (!field.SequenceEqual(slot.Value)) slot.Differs = true;
                }
                start = Math.Min(packed.Length, end + 1);
            }
        });
        var oldest = new Dictionary<long, (long, string)>();
        var values = new Dictionary<string, byte[]?>(StringComparer.Ordinal); // null: differs somewhere
        var metricSets = new HashSet<long>();
        foreach (var s in firsts)
        {
            foreach (var (k, o) in s.Oldest) if (!oldest.TryGetValue(k, out var mine) || IndexGroup.Before(o.Item1, o.Item2, mine)) oldest[k] = o;
            foreach (var (id, seen) in s.Slots)
                for (int i = 0; i < seen.Length; i++)
                {
                    if (seen[i].Value is null && !seen[i].Differs) continue; // no run of this part had this set
                    string k = keySets[id].Names[i];
                    byte[]? v = seen[i].Differs ? null : seen[i].Value;
                    values[k] = values.TryGetValue(k, out var mine) ? (mine is not null && v is not null && mine.AsSpan().SequenceEqual(v) ? mine : null) : v;
                }
            metricSets.UnionWith(s.Metrics);
        }
        var setsInOrder = oldest.OrderBy(o => o.Value.Item1).ThenBy(o => o.Value.Item2, StringComparer.Ordinal).Select(o => keySets[o.Key]).ToList();
        var keys = new List<string>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var set in setsInOrder) foreach (var k in set.Names) if (known.Add(k)) keys.Add(k);
        // A key differs when two runs have other values, or some run lacks it.
        var varying = keys.Where(k => values[k] is null || setsInOrder.Any(set => !set.TryGetSlot(k, out _))).ToList();
        var metricsShown = metricNames.Where(m => metricSets.Any(id => keySets.TryGetValue(id, out var set) && set.TryGetSlot(m, out _))).ToArray();
        string[] effectiveKeys = EffectiveKeys;
        bool effectiveWanted = varying.Any(c => c is "training.learning_rate" or "training.batch_size" || c.StartsWith("training.gradient_reduction", StringComparison.Ordinal));
        var rates = new EffectiveRates();

        // Pass 2: each run's line. The places of the shown params and the effective rate's inputs in each set of keys.
        string[] wanted = [.. varying, .. effectiveKeys];
        var slots = keySets.ToDictionary(k => k.Key, k => wanted.Select(w => k.Value.TryGetSlot(w, out int s) ? s : -1).ToArray());
        var metricSlots = keySets.ToDictionary(k => k.Key, k => metricsShown.Select(m => k.Value.TryGetSlot(m, out int s) ? s : -1).ToArray());
        var liveness = new Liveness();
        var pool = new ValuePool();
        var parts = ScanParts(select, _ => new Lines(), (part, r) =>
        {
            if (r.Int64(1) != 0 && !allAttempts) { part.Superseded++; return; }
            string status = liveness.Shown(r.Pooled(0, pool), r, pool);
            var packed = r.Bytes(5);
            var at = slots[r.Int64(4)];
            var line = part.Begin(r.Int64(2), r.Text(3));
            line.Text(r.Bytes(3));
            var fields = part.Fields(packed);
            for (int i = 0; i < varying.Count; i++)
            {
                line.Comma();
                if (at[i] >= 0 && at[i] < fields.Count) line.Text(packed.Slice(fields[at[i]].Start, fields[at[i]].Length));
                else line.Raw("-"u8);
            }
            if (effectiveWanted)
            {
                var input = new string?[effectiveKeys.Length];
                for (int i = 0; i < input.Length; i++)
                {
                    int slot = at[varying.Count + i];
                    input[i] = slot >= 0 && slot < fields.Count ? pool.Get(packed.Slice(fields[slot].Start, fields[slot].Length)) : null;
                }
                string? e = rates.Of(input);
                part.AnyEffective |= e is not null;
                line.Effective(System.Text.Encoding.UTF8.GetBytes(e ?? "-"));
            }
            var mslots = metricSlots[r.Int64(6)];
            var numbers = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(r.Bytes(7));
            for (int i = 0; i < mslots.Length; i++)
            {
                line.Comma();
                if (mslots[i] >= 0 && mslots[i] < numbers.Length) line.Number(numbers[mslots[i]]);
            }
            line.Comma();
            line.Text(System.Text.Encoding.UTF8.GetBytes(status));
            part.End();
        });
        bool anyEffective = parts.Any(p => p.AnyEffective);
        // The header, then the lines oldest first (without the effective rate when no run has one, as compare leaves the column out).
        var header = new List<string> { "run_id" };
        header.AddRange(varying);
        if (effectiveWanted && anyEffective) header.Add(Comparison.EffectiveLrColumn);
        header.AddRange(metricsShown);
        header.Add("status");
        var all = parts.SelectMany(p => p.Entries).ToArray();
        Array.Sort(all, (a, b) => a.Started != b.Started ? a.Started.CompareTo(b.Started) : string.CompareOrdinal(a.Id, b.Id));
        var text = System.Text.Encoding.UTF8.GetBytes(string.Join(',', header.Select(CsvQuote)) + "\n");
        output.Write(text);
        foreach (var e in all)
        {
            var bytes = e.Bytes.Span;
            if (effectiveWanted && !anyEffective) { output.Write(bytes[..e.EffectiveStart]); output.Write(bytes[e.EffectiveEnd..]); }
            else output.Write(bytes);
        }
        return (parts.Sum(p => p.Entries.Count), parts.Sum(p => p.Superseded));
    }

    private static string CsvQuote(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>Pass 1's findings in one part: per set of param keys, each slot's one value so far (or that it differs).</summary>
    private sealed class Survey
    {
        public struct Slot
        {
            public byte[]? Value;
            public bool Differs;
        }

        public Dictionary<long, (long, string)> Oldest { get; } = [];
        public Dictionary<long, Slot[]> Slots { get; } = [];
        public HashSet<long> Metrics { get; } = [];
        public long LastMetrics { get; set; } = long.MinValue;
        private long _lastSet = long.MinValue;
        private Slot[] _last = [];

        public Slot[] SlotsOf(long set, int count)
        {
            if (set == _lastSet) return _last;
            if (!Slots.TryGetValue(set, out var slots)) Slots[set] = slots = new Slot[count];
            (_lastSet, _last) = (set, slots);
            return slots;
        }
    }

    /// <summary>One part's lines, each in a shared block with its run's start and id (for the order).</summary>
    private sealed class Lines
    {
        public List<(long Started, string Id, ReadOnlyMemory<byte> Bytes, int EffectiveStart, int EffectiveEnd)> Entries { get; } = [];
        public int Superseded { get; set; }
        public bool AnyEffective { get; set; }
        private byte[] _block = new byte[1 << 20];
        private int _used, _start, _effectiveStart, _effectiveEnd;
        private long _started;
        private string _id = "";
        private readonly List<(int Start, int Length)> _fields = [];

        public Lines Begin(long started, string id)
        {
            (_started, _id, _start, _effectiveStart, _effectiveEnd) = (started, id, _used, 0, 0);
            return this;
        }

        public List<(int Start, int Length)> Fields(ReadOnlySpan<byte> packed)
        {
            _fields.Clear();
            int start = 0;
            while (true)
            {
                int next = packed[start..].IndexOf((byte)0x1f);
                _fields.Add((start, next < 0 ? packed.Length - start : next));
                if (next < 0) break;
                start += next + 1;
            }
            return _fields;
        }

        private Span<byte> Room(int n)
        {
            if (_used + n > _block.Length)
            {
                // A new block: the line so far moves with it.
                var bigger = new byte[Math.Max(1 << 20, 2 * (_used - _start + n))];
                _block.AsSpan(_start, _used - _start).CopyTo(bigger);
                (_used, _start, _block) = (_used - _start, 0, bigger);
            }
            return _block.AsSpan(_used, n);
        }

        public void Raw(ReadOnlySpan<byte> bytes) { bytes.CopyTo(Room(bytes.Length)); _used += bytes.Length; }
        public void Comma() => Raw(","u8);

        /// <summary>A text field, quoted when it holds a comma, a quote or a newline (quotes doubled).</summary>
        public void Text(ReadOnlySpan<byte> text)
        {
            if (text.IndexOfAny((byte)',', (byte)'"', (byte)'\n') < 0) { Raw(text); return; }
            Raw("\""u8);
            foreach (byte b in text) { if (b == '"') Raw("\"\""u8); else Raw([b]); }
            Raw("\""u8);
        }

        public void Number(double v)
        {
            var room = Room(32);
            if (!v.TryFormat(room, out int written, "R", CultureInfo.InvariantCulture)) throw new InvalidOperationException("a number longer than 32 characters");
            _used += written;
        }

        /// <summary>The effective rate's field (its comma and text), marked so it can be left out.</summary>
        public void Effective(ReadOnlySpan<byte> text)
        {
            _effectiveStart = _used - _start;
            Comma();
            Text(text);
            _effectiveEnd = _used - _start;
        }

        public void End()
        {
            Raw("\n"u8);
            Entries.Add((_started, _id, new ReadOnlyMemory<byte>(_block, _start, _used - _start), _effectiveStart, _effectiveEnd));
        }
    }
}
