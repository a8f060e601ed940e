using ExpRunner.Config;
using System.Globalization;

namespace ExpRunner.Compare;

public sealed record ComparisonOptions
{
    public IReadOnlyList<string> GroupBy { get; init; } = [];
    public bool AllParams { get; init; }
    public Filter? Filter { get; init; }
    public string? Sort { get; init; }
    public bool Descending { get; init; }
    /// <summary>Differences are taken against this run ...</summary>
    public RunRow? Baseline { get; init; }
    /// <summary>... or against this group (its label, e.g. "mean, 0.01"; spaces do not matter).</summary>
    public string? BaselineGroup { get; init; }
    /// <summary>A run's training-set size (from its run.json), asked only of plain-SGD runs, to mark rows that are one configuration (<see cref="Equivalence"/>); none: no marks.</summary>
    public Func<RunRow, int?>? TrainCount { get; init; }
}

public enum ColumnKind { Param, Metric, Status }

public sealed record Column(string Name, ColumnKind Kind, bool? HigherIsBetter = null)
{
    public string Key => Kind switch { ColumnKind.Param => "params." + Name, ColumnKind.Metric => "metrics." + Name, _ => "attributes." + Name };
}

/// <summary>
/// One cell: text (params, status) or a number; for a group, the mean with its std, count and 95%
/// confidence interval; against a baseline, the difference and the p-value of a t-test (Welch's
/// between groups, one-sample between a group and a run; none between two runs).
/// </summary>
public sealed record Cell(string? Text = null, double? Value = null, double? Std = null, int N = 1, bool Best = false, double? Delta = null,
    double? Low = null, double? High = null, double? P = null, bool IsBaseline = false);

public sealed record ComparisonRow(string Label, IReadOnlyDictionary<string, Cell> Cells, IReadOnlyList<RunRow> Runs)
{
    /// <summary>How many runs the row stands for (a group added up by the index holds no rows: <see cref="Runs"/> is empty).</summary>
    public int Size { get; init; } = Runs.Count;

    /// <summary>The row with one cell put in or replaced (a run's cells stay made on demand; a group's are copied).</summary>
    public ComparisonRow With(string key, Cell cell) => this with
    {
        Cells = Cells is RunCells lazy ? lazy.With(key, cell) : new Dictionary<string, Cell>(Cells) { [key] = cell },
    };
}

/// <summary>
/// The cells of a run's row, made when asked for from the run itself (its params and metrics, under
/// the comparison's columns), with the few cells put in afterwards (derived columns, best marks,
/// deltas) held beside them: 100,000 compared runs hold no dictionary each.
/// </summary>
internal sealed class RunCells(RunRow run, RunCells.Layout columns, Dictionary<string, Cell>? extra = null, string[]? best = null) : IReadOnlyDictionary<string, Cell>
{
    /// <summary>The columns a run's cells are made for (shared by every run of a comparison).</summary>
    public sealed class Layout(IReadOnlyList<Column> columns)
    {
        public IReadOnlyList<Column> Columns { get; set; } = columns;
        /// <summary>Cells worked out from the run (a derived column), by key.</summary>
        public Dictionary<string, Func<RunRow, Cell>> Derived { get; } = new(StringComparer.Ordinal);
        /// <summary>Each cell's key: what it is and the param's or metric's name.</summary>
        public Dictionary<string, (ColumnKind Kind, string Name)> Cells { get; } = columns.Where(c => c.Kind != ColumnKind.Status)
            .Append(new Column("status", ColumnKind.Status)).ToDictionary(c => c.Key, c => (c.Kind, c.Name), StringComparer.Ordinal);
    }

    public RunCells With(string key, Cell cell) => new(run, columns, new Dictionary<string, Cell>(extra ?? []) { [key] = cell }, best);

    /// <summary>The row with its cell of <paramref name="key"/> marked the best of its column (ties can mark many rows: no dictionary each).</summary>
    public RunCells Best(string key) => new(run, columns, extra, [.. best ?? [], key]);

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Cell value)
    {
        if (extra is null || !extra.TryGetValue(key, out value)) value = Made(key);
        if (value is not null && best is not null && best.Contains(key)) value = value with { Best = true };
        return value is not null;
    }

    private Cell? Made(string key)
    {
        if (columns.Derived.Count > 0 && columns.Derived.TryGetValue(key, out var derive)) return derive(run);
        if (!columns.Cells.TryGetValue(key, out var cell)) return null;
        return cell.Kind switch
        {
            ColumnKind.Status => new Cell(run.Status),
            ColumnKind.Param => new Cell(run.Params.GetValueOrDefault(cell.Name, "-")),
            _ => run.Metrics.TryGetValue(cell.Name, out double v) ? new Cell(Value: v) : null,
        };
    }

    /// <summary>A cell's text or value as <see cref="TryGetValue"/> would make it, without making the cell (renderers of many rows).</summary>
    public bool Peek(string key, out string? text, out double? value)
    {
        (text, value) = (null, null);
        if ((extra is not null && extra.ContainsKey(key)) || columns.Derived.ContainsKey(key))
        {
            if (!TryGetValue(key, out var made)) return false;
            (text, value) = (made.Text, made.Value);
            return true;
        }
        if (!columns.Cells.TryGetValue(key, out var cell)) return false;
        switch (cell.Kind)
        {
            case ColumnKind.Status: text = run.Status; return true;
            case ColumnKind.Param: text = run.Params.GetValueOrDefault(cell.Name, "-"); return true;
            default:
                if (!run.Metrics.TryGetValue(cell.Name, out double v)) return false;
                value = v;
                return true;
        }
    }

    /// <summary>A metric's value in this row (as its cell has it), without making the cell.</summary>
    public double? Metric(string key) =>
        extra is not null && extra.TryGetValue(key, out var c) ? c.Value
        : columns.Cells.TryGetValue(key, out var cell) && cell.Kind == ColumnKind.Metric && run.Metrics.TryGetValue(cell.Name, out double v) ? v : null;

    public Cell this[string key] => TryGetValue(key, out var c) ? c : throw new KeyNotFoundException(key);
    public bool ContainsKey(string key) => TryGetValue(key, out _);
    public IEnumerable<string> Keys => this.Select(p => p.Key);
    public IEnumerable<Cell> Values => this.Select(p => p.Value);
    public int Count => this.Count();

    public IEnumerator<KeyValuePair<string, Cell>> GetEnumerator()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in columns.Columns)
            if (TryGetValue(c.Key, out var cell) && seen.Add(c.Key)) yield return new(c.Key, cell);
        if (TryGetValue("attributes.status", out var status) && seen.Add("attributes.status")) yield return new("attributes.status", status);
        if (extra is not null) foreach (var (k, v) in extra) if (seen.Add(k)) yield return new(k, v);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// The comparison as data: which columns, which rows, each cell's value, the best per metric column
/// and deltas against a baseline. Renderers only format it.
/// </summary>
public sealed record Comparison(IReadOnlyList<Column> Columns, IReadOnlyList<ComparisonRow> Rows, bool Grouped)
{
    /// <summary>Whether the rows have differences to a baseline (--baseline).</summary>
    public bool HasDeltas { get; init; }

    public static readonly Column[] MetricColumns =
    [
        new("test_accuracy", ColumnKind.Metric, true), new("test_loss", ColumnKind.Metric, false),
        new("validation_accuracy", ColumnKind.Metric, true), new("train_loss", ColumnKind.Metric, false),
        new("best_epoch", ColumnKind.Metric), new("epochs_run", ColumnKind.Metric), new("duration", ColumnKind.Metric),
        // A learning-rate range test's (exprunner lr-find) suggestions.
        new("steepest_lr", ColumnKind.Metric), new("minimum_lr", ColumnKind.Metric), new("diverged_lr", ColumnKind.Metric),
    ];

    /// <summary>Derived columns: lr/B for mean, lr for sum (<see cref="Equivalence.EffectiveLr"/>); rows that are one configuration share a mark (≡a, ≡b, …).</summary>
    public const string EffectiveLrColumn = "effective_lr", SameConfigColumn = "same_config";

    /// <summary>At most this many runs get same_config marks (a comparison of more leaves them out).</summary>
    public const int MarkedRuns = 5000;

    /// <summary>Whether rows are marked as one configuration (see <see cref="Equivalence"/>).</summary>
    public bool Equivalences => Columns.Any(c => c.Name == SameConfigColumn);

    /// <summary>
    /// Rows (each a run, or a group's runs) that are one configuration (<see cref="Equivalence"/>), marked ≡a, ≡b, … by
    /// their index; none beyond <see cref="MarkedRuns"/> runs (a key per run costs time). Keys are first made without the
    /// training sets' sizes (no file read): only rows that could be one configuration with another have their runs'
    /// sizes read (<paramref name="trainCount"/>: run.json), so a comparison of many runs reads none or a few.
    /// </summary>
    public static Dictionary<int, string> SameConfigMarks(IReadOnlyList<IReadOnlyList<RunRow>> rows, Func<RunRow, int?> trainCount)
    {
        var mark = new Dictionary<int, string>();
        if (rows.Count < 2 || rows.Sum(r => r.Count) > MarkedRuns) return mark;
        static string? KeyOf(IReadOnlyList<RunRow> runs, Func<RunRow, int?> size)
        {
            var memberKeys = runs.Select(x => Equivalence.PlainSgd(x.Params) ? Equivalence.Key(x.Params, size(x)) : null).ToList();
            return memberKeys.Count > 0 && memberKeys.All(k => k is not null) ? string.Join("\u0002", memberKeys.Distinct().Order(StringComparer.Ordinal)) : null;
        }
        static IEnumerable<List<int>> Classes(IEnumerable<string?> keys) =>
            keys.Select((k, i) => (k, i)).Where(x => x.k is not null).GroupBy(x => x.k!).Where(g => g.Count() > 1).Select(g => g.Select(x => x.i).ToList());
        var loose = rows.Select(r => KeyOf(r, x => int.TryParse(x.Params.GetValueOrDefault("training.batch_size"), NumberStyles.None, CultureInfo.InvariantCulture, out int b) ? b : 1));
        var candidates = Classes(loose).SelectMany(c => c).ToHashSet();
        var classes = Classes(rows.Select((r, i) => candidates.Contains(i) ? KeyOf(r, trainCount) : null)).ToList();
        for (int c = 0; c < classes.Count; c++)
            foreach (int i in classes[c]) mark[i] = "≡" + (char)('a' + c % 26) + (c >= 26 ? (c / 26).ToString(CultureInfo.InvariantCulture) : "");
        return mark;
    }

    public static Comparison Build(IEnumerable<RunRow> allRuns, ComparisonOptions options)
    {
        var all = allRuns.ToList();
        // Names no run has would silently filter, group or sort nothing: they are errors, with a did-you-mean.
        options.Filter?.CheckKeys(all);
        var known = Keys.Of(all).ToHashSet(StringComparer.Ordinal);
        foreach (var k in options.GroupBy)
            if (all.Count > 0 && !known.Contains(k)) throw new CompareException($"cannot group by '{k}': no run has that param{Keys.Suggest(k, known)}");
        var runs = options.Filter is { } filter ? all.Where(filter.Matches).ToList() : all;
        var metricNames = Keys.Of(runs, metrics: true).ToHashSet(StringComparer.Ordinal); // once per set of keys, not per run
        var metrics = MetricColumns.Where(c => metricNames.Contains(c.Name)).ToList();
        var rows = new List<ComparisonRow>();
        RunCells.Layout? layout = null; // the runs' rows' columns (not grouped)
        List<Column> paramColumns;
        // The effective learning rate: few runs differ in what it depends on, so each combination is worked out once (100,000 rows stay cheap).
        var inputs = new NamedSlots(Equivalence.EffectiveKeys);
        var memo = new System.Collections.Concurrent.ConcurrentDictionary<(string?, string?, string?, string?, string?), string?>();
        string? Effective(RunRow x, NamedSlots.Reader read)
        {
            var p = x.Params;
            var key = (read.Get(p, 0), read.Get(p, 1), read.Get(p, 2), read.Get(p, 3), read.Get(p, 4));
            return memo.GetOrAdd(key, _ => Equivalence.EffectiveText(p));
        }
        string?[]? groupEffective = null; // grouped: each group's one effective rate, "mixed", or null (none)
        if (options.GroupBy.Count > 0)
        {
            bool effective = ShowsEffective(options.GroupBy) && runs.Any(r => Equivalence.EffectiveText(r.Params) is not null);
            paramColumns = options.GroupBy.Select(k => new Column(k, ColumnKind.Param)).ToList();
            var groupBy = new NamedSlots(options.GroupBy);
            int width = options.GroupBy.Count;
            // Each run's group found in contiguous parts on every core (each part's groups in the order their first run
            // comes), then the parts' groups joined in order: the groups keep the order in which their first run comes.
            int parts = Math.Clamp(runs.Count / 8_192, 1, Environment.ProcessorCount);
            var found = new List<(string Key, GroupParts Group)>[parts];
            // Rows read from the index hold their params as bytes: a run's grouped values (and the effective rate's inputs)
            // are looked up as those bytes, and its group key and rate worked out once per distinct combination.
            var combined = new NamedSlots(effective ? [.. options.GroupBy, .. Equivalence.EffectiveKeys] : options.GroupBy);
            Parallel.For(0, parts, part =>
            {
                var read = groupBy.Read();
                var rates = inputs.Read();
                var asBytes = combined.Read();
                var byKey = new Dictionary<string, GroupParts>(StringComparer.Ordinal);
                var inOrder = new List<(string, GroupParts)>();
                var combos = new Dictionary<BytesKey, (GroupParts Group, string? Rate)>();
                var buffer = new byte[256];
                var fields = new string[width];
                GroupParts GroupOf(RunRow r)
                {
                    string key;
                    if (width == 1) key = read.Get(r.Params, 0) ?? "";
                    else
                    {
                        for (int f = 0; f < width; f++) fields[f] = read.Get(r.Params, f) ?? "";
                        key = string.Join('\u0001', fields);
                    }
                    if (!byKey.TryGetValue(key, out var group)) { byKey[key] = group = new GroupParts(); inOrder.Add((key, group)); }
                    return group;
                }
                int from = (int)((long)runs.Count * part / parts), to = (int)((long)runs.Count * (part + 1) / parts);
                for (int i = from; i < to; i++)
                {
                    var r = runs[i];
                    GroupParts group;
                    string? rate = null;
                    int length = asBytes.Bytes(r.Params, ref buffer);
                    if (length < 0)
                    {
                        group = GroupOf(r);
                        if (effective) rate = Effective(r, rates);
                    }
                    else
                    {
                        var probe = new BytesKey(buffer, length);
                        if (!combos.TryGetValue(probe, out var combo)) combos[probe.Owned()] = combo = (GroupOf(r), effective ? Effective(r, rates) : null);
                        (group, rate) = combo;
                    }
                    group.Members.Add(r);
                    if (effective) group.Rate(rate);
                }
                found[part] = inOrder;
            });
            var joined = new Dictionary<string, GroupParts>(StringComparer.Ordinal);
            var groups = new List<GroupParts>();
            foreach (var inOrder in found)
                foreach (var (key, group) in inOrder)
                    if (joined.TryGetValue(key, out var mine)) mine.Add(group);
                    else { joined[key] = group; groups.Add(group); }
            var order = groups.ConvertAll(g => g.Members);
            if (effective) groupEffective = [.. groups.Select(g => g.Mixed ? "mixed" : g.Effective)];
            // Each group's metric values gathered in one pass over its runs, then each (group, metric) cell made — both on every core.
            var metricSlots = new NamedSlots([.. metrics.Select(m => m.Name)]);
            var gathered = new List<double>[order.Count, metrics.Count];
            Parallel.For(0, order.Count, g =>
            {
                var read = metricSlots.Read();
                for (int m = 0; m < metrics.Count; m++) gathered[g, m] = new List<double>(order[g].Count);
                foreach (var r in order[g]) read.Each(r.Metrics, (m, v) => gathered[g, m].Add(v));
            });
            var metricCells = new Cell?[order.Count, metrics.Count];
            Parallel.For(0, order.Count * metrics.Count, k =>
            {
                var (g, m) = Math.DivRem(k, metrics.Count);
                if (gathered[g, m].Count > 0) metricCells[g, m] = GroupCell(gathered[g, m]);
            });
            rows.AddRange(order.Select((members, g) =>
            {
                var cells = new Dictionary<string, Cell>();
                var first = new string[width];
                var read = groupBy.Read();
                for (int i = 0; i < width; i++) cells["params." + options.GroupBy[i]] = new Cell(first[i] = read.Get(members[0].Params, i) ?? "-");
                for (int m = 0; m < metrics.Count; m++) if (metricCells[g, m] is { } cell) cells[metrics[m].Key] = cell;
                cells["attributes.status"] = new Cell(StatusCounts(members));
                return new ComparisonRow(string.Join(", ", first), cells, members);
            }));
        }
        else
        {
            var paramKeys = Keys.Of(runs);
            var varying = options.AllParams ? null : Varying(runs);
            paramColumns = paramKeys.Where(k => varying?.Contains(k) != false).Select(k => new Column(k, ColumnKind.Param)).ToList();
            // A run's cells are made from it when asked for (under these columns).
            layout = new RunCells.Layout([.. paramColumns, .. metrics]);
            foreach (var r in runs) rows.Add(new ComparisonRow(r.Id, new RunCells(r, layout), [r]));
        }
        // The effective learning rate beside a learning rate or reduction that is shown, and which rows are one configuration.
        var derived = new List<Column>();
        const string effectiveKey = "params." + EffectiveLrColumn;
        if (groupEffective is not null)
        {
            derived.Add(new Column(EffectiveLrColumn, ColumnKind.Param));
            rows = [.. rows.Select((r, g) => r.With(effectiveKey, new Cell(groupEffective[g] ?? "-")))];
        }
        else if (layout is not null && ShowsEffective(paramColumns.Select(c => c.Name)) && runs.Any(r => Equivalence.EffectiveText(r.Params) is not null))
        {
            derived.Add(new Column(EffectiveLrColumn, ColumnKind.Param));
            layout.Derived[effectiveKey] = run => new Cell(Effective(run, inputs.Read()) ?? "-"); // a run's row: made when asked for
        }
        if (options.TrainCount is { } count && SameConfigMarks([.. rows.Select(r => r.Runs)], count) is { Count: > 0 } mark)
        {
            derived.Add(new Column(SameConfigColumn, ColumnKind.Param));
            rows = [.. rows.Select((r, i) => r.With("params." + SameConfigColumn, new Cell(mark.GetValueOrDefault(i, ""))))];
        }
        var columns = paramColumns.Concat(derived).Concat(metrics).Append(new Column("status", ColumnKind.Status)).ToList();
        if (layout is not null) layout.Columns = columns;
        rows = Sort(rows, options, columns);
        rows = MarkBest(rows, metrics);
        if (options.BaselineGroup is { } label)
        {
            // Each value as the user writes it: spaces and case do not matter, nor how a number is written (1.0 = 1).
            static bool Same(string a, string b)
            {
                var (pa, pb) = (a.Split(',', StringSplitOptions.TrimEntries), b.Split(',', StringSplitOptions.TrimEntries));
                return pa.Length == pb.Length && pa.Zip(pb).All(p => string.Equals(p.First, p.Second, StringComparison.OrdinalIgnoreCase)
                    || (double.TryParse(p.First, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.TryParse(p.Second, NumberStyles.Float, CultureInfo.InvariantCulture, out double y) && x == y));
            }
            var group = rows.FirstOrDefault(r => Same(r.Label, label))
                ?? throw new CompareException($"no group '{label}' to compare against; the groups are {string.Join("; ", rows.Select(r => r.Label))}");
            rows = Deltas(rows, metrics, group.Runs);
        }
        else if (options.Baseline is { } baseline) rows = Deltas(rows, metrics, [baseline]);
        return new Comparison(columns, rows, options.GroupBy.Count > 0) { HasDeltas = (options.BaselineGroup is not null || options.Baseline is not null) && rows.Any(r => r.Cells.Values.Any(x => x.Delta is not null || x.IsBaseline)) };
    }

    /// <summary>
    /// A grouped comparison of groups the index added up (<see cref="RunIndex.Groups"/>): the table
    /// <see cref="Build"/> makes of the same runs' rows (more than <see cref="MarkedRuns"/> runs: no
    /// same_config marks either way). No filter or baseline: those need the rows.
    /// </summary>
    public static Comparison FromGroups(IReadOnlyList<IndexGroup> groups, ComparisonOptions options)
    {
        if (options.Filter is not null || options.Baseline is not null || options.BaselineGroup is not null)
            throw new ArgumentException("a filter or a baseline needs the runs' rows");
        var groupBy = options.GroupBy;
        var metrics = MetricColumns.Where(c => groups.Any(g => g.Metrics.ContainsKey(c.Name))).ToList();
        var paramColumns = groupBy.Select(k => new Column(k, ColumnKind.Param)).ToList();
        bool effective = ShowsEffective(groupBy) && groups.Any(g => g.Effective.Any(e => e is not null));
        // Each group's metric cells on every core (each sorts its values: a few milliseconds apiece at 10,000 runs a group).
        var metricCells = new Cell?[groups.Count, metrics.Count];
        Parallel.For(0, groups.Count * metrics.Count, k =>
        {
            var (g, m) = Math.DivRem(k, metrics.Count);
            if (groups[g].Metrics.TryGetValue(metrics[m].Name, out var values)) metricCells[g, m] = GroupCell(values);
        });
        var rows = groups.Select((g, at) =>
        {
            var cells = new Dictionary<string, Cell>(StringComparer.Ordinal);
            for (int i = 0; i < groupBy.Count; i++) cells["params." + groupBy[i]] = new Cell(g.Shown[i]);
            for (int m = 0; m < metrics.Count; m++) if (metricCells[at, m] is { } cell) cells[metrics[m].Key] = cell;
            cells["attributes.status"] = new Cell(g.StatusText());
            if (effective) cells["params." + EffectiveLrColumn] = new Cell(g.Effective.Count == 1 ? g.Effective.First() ?? "-" : "mixed");
            return new ComparisonRow(string.Join(", ", g.Shown), cells, []) { Size = g.N };
        }).ToList();
        var columns = paramColumns.Concat(effective ? [new Column(EffectiveLrColumn, ColumnKind.Param)] : []).Concat(metrics).Append(new Column("status", ColumnKind.Status)).ToList();
        return new Comparison(columns, MarkBest(Sort(rows, options, columns), metrics), Grouped: true);
    }

    /// <summary>Whether columns of these params show the effective learning rate beside them (a rate, batch size or reduction among them).</summary>
    private static bool ShowsEffective(IEnumerable<string> columns) =>
        columns.Any(c => c is "training.learning_rate" or "training.batch_size" || c.StartsWith("training.gradient_reduction", StringComparison.Ordinal));

    /// <summary>A group's runs as a part of them is gathered, with their effective rate: the first run's, or mixed.</summary>
    private sealed class GroupParts
    {
        public List<RunRow> Members { get; } = [];
        public string? Effective { get; private set; }
        public bool Mixed { get; private set; }

        public void Rate(string? rate)
        {
            if (Members.Count == 1) Effective = rate;
            else if (!Mixed && rate != Effective) Mixed = true;
        }

        /// <summary>Adds the runs of a later part of the same group.</summary>
        public void Add(GroupParts later)
        {
            Members.AddRange(later.Members);
            Mixed |= later.Mixed || later.Effective != Effective;
        }
    }

    /// <summary>A group's runs' statuses as compare shows them: "3 FINISHED, 1 FAILED", in the order the statuses first come.</summary>
    internal static string StatusCounts(IReadOnlyList<RunRow> runs) => string.Join(", ", StatusTally(runs).Select(c => $"{c.Value} {c.Key}"));

    /// <summary>How many of the runs have each status, in the order the statuses first come (one pass, no grouping made).</summary>
    public static List<KeyValuePair<string, int>> StatusTally(IReadOnlyList<RunRow> runs)
    {
        var counts = new List<KeyValuePair<string, int>>(2);
        foreach (var r in runs)
        {
            int i = 0;
            while (i < counts.Count && !ReferenceEquals(counts[i].Key, r.Status) && counts[i].Key != r.Status) i++;
            if (i == counts.Count) counts.Add(new(r.Status, 1));
            else counts[i] = new(counts[i].Key, counts[i].Value + 1);
        }
        return counts;
    }

    /// <summary>
    /// A group's cell of a metric: mean, spread, count and 95% interval of its values — taken in
    /// ascending order (IEEE total order: -0 before 0), so not a digit depends on the order the runs were read in.
    /// </summary>
    internal static Cell GroupCell(List<double> values)
    {
        Statistics.SortTotal(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values));
        var ci = Statistics.Ci95(values);
        return new Cell(Value: Statistics.Mean(values), Std: Statistics.StdDev(values), N: values.Count, Low: ci?.Low, High: ci?.High);
    }

    /// <summary>
    /// The params whose value is not the same in every run (absent counts as a value): each run's params
    /// looked at once, on both cores; runs of one set of keys share it (read from the index), so which
    /// keys a run lacks is worked out once per set.
    /// </summary>
    private static HashSet<string> Varying(List<RunRow> runs)
    {
        var varying = new HashSet<string>(StringComparer.Ordinal);
        if (runs.Count < 2) return varying;
        var first = runs[0].Params.ToDictionary(StringComparer.Ordinal);
        var firstUtf8 = first.ToDictionary(p => p.Key, p => System.Text.Encoding.UTF8.GetBytes(p.Value), StringComparer.Ordinal);
        var firstKeys = first.Keys.ToHashSet(StringComparer.Ordinal);
        foreach (var keys in runs.Select(r => r.Params.Keys).Distinct(ReferenceEqualityComparer.Instance).Cast<IEnumerable<string>>())
        {
            var set = keys.ToHashSet(StringComparer.Ordinal);
            varying.UnionWith(set.Where(k => !firstKeys.Contains(k)));
            varying.UnionWith(firstKeys.Where(k => !set.Contains(k)));
        }
        var lockTaken = new Lock();
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(1, runs.Count, Math.Max(1000, runs.Count / 16)), range =>
        {
            var local = new HashSet<string>(StringComparer.Ordinal);
            for (int i = range.Item1; i < range.Item2; i++)
                if (runs[i].Params is PackedMap packed) packed.Differing(firstUtf8, local); // values compared where they lie, none made
                else
                    foreach (var (k, v) in runs[i].Params)
                        if (!local.Contains(k) && (!first.TryGetValue(k, out var f) || !string.Equals(f, v, StringComparison.Ordinal))) local.Add(k);
            lock (lockTaken) varying.UnionWith(local);
        });
        return varying;
    }

    private static List<ComparisonRow> Sort(List<ComparisonRow> rows, ComparisonOptions options, List<Column> columns)
    {
        if (options.Sort is null) return rows;
        string key = options.Sort;
        var column = columns.FirstOrDefault(c => c.Key == key || c.Name == key)
            ?? throw new CompareException($"cannot sort by '{key}': no such column{Keys.Suggest(key, columns.Select(c => c.Key))}; " +
                $"the columns are {string.Join(", ", columns.Select(c => c.Key))}");
        string? Text(ComparisonRow r) => r.Cells.TryGetValue(column.Key, out var c) ? c.Text : null;
        bool numeric = SortOrder.AllNumbers(rows.Where(r => !(r.Cells.TryGetValue(column.Key, out var c) && c.Value is not null)).Select(Text), out var parse);
        double? Number(ComparisonRow r) => r.Cells.TryGetValue(column.Key, out var c) ? c.Value ?? parse(c.Text) : null;
        var ordered = rows.ToArray();
        bool desc = options.Descending;
        Array.Sort(ordered, (a, b) =>
        {
            int by = numeric ? SortOrder.Numbers(Number(a), Number(b), desc) : SortOrder.Texts(Text(a), Text(b), desc);
            return by != 0 ? by : string.CompareOrdinal(a.Label, b.Label);
        });
        return [.. ordered];
    }

    private static List<ComparisonRow> MarkBest(List<ComparisonRow> rows, List<Column> metrics)
    {
        // Only rows holding a best value change (the others keep their cells).
        var marked = rows.ToArray();
        foreach (var m in metrics.Where(m => m.HigherIsBetter is not null))
        {
            var values = new double?[rows.Count];
            for (int i = 0; i < rows.Count; i++) values[i] = rows[i].Cells is RunCells run ? run.Metric(m.Key) : rows[i].Cells.TryGetValue(m.Key, out var cell) ? cell.Value : null;
            var finite = values.Where(v => v is not null && double.IsFinite(v.Value)).Select(v => v!.Value).ToList();
            if (finite.Count < 2) continue;
            double best = m.HigherIsBetter == true ? finite.Max() : finite.Min();
            for (int i = 0; i < rows.Count; i++)
                if (values[i] == best && marked[i].Cells.TryGetValue(m.Key, out var cell))
                    marked[i] = marked[i].Cells is RunCells run ? marked[i] with { Cells = run.Best(m.Key) } : marked[i].With(m.Key, cell with { Best = true });
        }
        return [.. marked];
    }

    /// <summary>Each metric's difference of means to the baseline (a run, or a group's runs), and whether it is real (a t-test's p-value).</summary>
    private static List<ComparisonRow> Deltas(List<ComparisonRow> rows, List<Column> metrics, IReadOnlyList<RunRow> baseline) =>
        rows.Select(r =>
        {
            var cells = new Dictionary<string, Cell>(r.Cells);
            foreach (var m in metrics)
            {
                var base_ = baseline.Where(b => b.Metrics.ContainsKey(m.Name)).Select(b => b.Metrics[m.Name]).ToList();
                var mine = r.Runs.Where(x => x.Metrics.ContainsKey(m.Name)).Select(x => x.Metrics[m.Name]).ToList();
                if (!cells.TryGetValue(m.Key, out var cell) || base_.Count == 0 || mine.Count == 0) continue;
                if (r.Runs.SequenceEqual(baseline)) { cells[m.Key] = cell with { IsBaseline = true }; continue; }
                var test = mine.Count >= 2 && base_.Count >= 2 ? Statistics.Welch(mine, base_)
                    : mine.Count >= 2 ? Statistics.OneSample(mine, base_[0])
                    : base_.Count >= 2 ? Statistics.OneSample(base_, mine[0]) : null;
                cells[m.Key] = cell with { Delta = Statistics.Mean(mine) - Statistics.Mean(base_), P = test?.P };
            }
            return r with { Cells = cells };
        }).ToList();
}
