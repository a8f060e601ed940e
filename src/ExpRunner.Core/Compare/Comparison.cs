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

public sealed record ComparisonRow(string Label, IReadOnlyDictionary<string, Cell> Cells, IReadOnlyList<RunRow> Runs);

/// <summary>
/// The comparison as data: which columns, which rows, each cell's value, the best per metric column
/// and deltas against a baseline. Renderers only format it.
/// </summary>
public sealed record Comparison(IReadOnlyList<Column> Columns, IReadOnlyList<ComparisonRow> Rows, bool Grouped)
{
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
        var runs = all.Where(r => options.Filter?.Matches(r) ?? true).ToList();
        var metrics = MetricColumns.Where(c => runs.Any(r => r.Metrics.ContainsKey(c.Name))).ToList();
        var paramKeys = Keys.Of(runs);
        var rows = new List<ComparisonRow>();
        List<Column> paramColumns;
        if (options.GroupBy.Count > 0)
        {
            paramColumns = options.GroupBy.Select(k => new Column(k, ColumnKind.Param)).ToList();
            var groupBy = options.GroupBy.ToArray();
            string GroupKey(RunRow r)
            {
                if (groupBy.Length == 1) return r.Params.GetValueOrDefault(groupBy[0], "");
                var parts = new string[groupBy.Length];
                for (int i = 0; i < parts.Length; i++) parts[i] = r.Params.GetValueOrDefault(groupBy[i], "");
                return string.Join('\u0001', parts);
            }
            // Keys and each group's statistics are computed in parallel (100,000 runs: 0.3 s → about half); the
            // groups keep the order in which their first run comes.
            var keys = runs.AsParallel().AsOrdered().Select(GroupKey).ToArray();
            var byKey = new Dictionary<string, List<RunRow>>(StringComparer.Ordinal);
            var order = new List<List<RunRow>>();
            for (int i = 0; i < keys.Length; i++)
            {
                if (!byKey.TryGetValue(keys[i], out var members)) { byKey[keys[i]] = members = []; order.Add(members); }
                members.Add(runs[i]);
            }
            rows.AddRange(order.AsParallel().AsOrdered().Select(members =>
            {
                var cells = new Dictionary<string, Cell>();
                foreach (var k in options.GroupBy) cells["params." + k] = new Cell(members[0].Params.GetValueOrDefault(k, "-"));
                foreach (var m in metrics)
                {
                    var values = new List<double>(members.Count);
                    foreach (var r in members) if (r.Metrics.TryGetValue(m.Name, out double v)) values.Add(v);
                    if (values.Count == 0) continue;
                    var ci = Statistics.Ci95(values);
                    cells[m.Key] = new Cell(Value: Statistics.Mean(values), Std: Statistics.StdDev(values), N: values.Count, Low: ci?.Low, High: ci?.High);
                }
                cells["attributes.status"] = new Cell(string.Join(", ", members.GroupBy(r => r.Status).Select(s => $"{s.Count()} {s.Key}")));
                return new ComparisonRow(string.Join(", ", options.GroupBy.Select(k => members[0].Params.GetValueOrDefault(k, "-"))), cells, members);
            }));
        }
        else
        {
            paramColumns = paramKeys
                // Does any run differ from the first? (The first's value once per key; the keys on both cores.)
                .AsParallel().AsOrdered()
                .Where(k => options.AllParams || runs.Count == 0 || (runs[0].Params.GetValueOrDefault(k) is var first && runs.Any(r => r.Params.GetValueOrDefault(k) != first)))
                .Select(k => new Column(k, ColumnKind.Param)).ToList();
            foreach (var r in runs)
            {
                var cells = new Dictionary<string, Cell>();
                foreach (var p in paramColumns) cells[p.Key] = new Cell(r.Params.GetValueOrDefault(p.Name, "-"));
                foreach (var m in metrics) if (r.Metrics.TryGetValue(m.Name, out double v)) cells[m.Key] = new Cell(Value: v);
                cells["attributes.status"] = new Cell(r.Status);
                rows.Add(new ComparisonRow(r.Id, cells, [r]));
            }
        }
        // The effective learning rate beside a learning rate or reduction that is shown, and which rows are one configuration.
        var derived = new List<Column>();
        if (paramColumns.Any(c => c.Name is "training.learning_rate" or "training.batch_size" || c.Name.StartsWith("training.gradient_reduction", StringComparison.Ordinal))
            && runs.Any(r => Equivalence.EffectiveText(r.Params) is not null))
        {
            derived.Add(new Column(EffectiveLrColumn, ColumnKind.Param));
            // Few runs differ in what it depends on: each combination is worked out once (100,000 rows stay cheap).
            var memo = new Dictionary<(string?, string?, string?, string?, string?), string?>();
            string? Effective(RunRow x)
            {
                var p = x.Params;
                var key = (p.GetValueOrDefault("training.learning_rate"), p.GetValueOrDefault("training.batch_size"), p.GetValueOrDefault("training.gradient_reduction"),
                    p.GetValueOrDefault("training.gradient_reduction.weights"), p.GetValueOrDefault("training.gradient_reduction.biases"));
                if (!memo.TryGetValue(key, out var text)) memo[key] = text = Equivalence.EffectiveText(p);
                return text;
            }
            rows = [.. rows.Select(r =>
            {
                var texts = r.Runs.Select(Effective).Distinct().ToList();
                var cells = new Dictionary<string, Cell>(r.Cells) { ["params." + EffectiveLrColumn] = new Cell(texts is [var one] ? one ?? "-" : "mixed") };
                return r with { Cells = cells };
            })];
        }
        if (options.TrainCount is { } count && SameConfigMarks([.. rows.Select(r => r.Runs)], count) is { Count: > 0 } mark)
        {
            derived.Add(new Column(SameConfigColumn, ColumnKind.Param));
            rows = [.. rows.Select((r, i) => r with { Cells = new Dictionary<string, Cell>(r.Cells) { ["params." + SameConfigColumn] = new Cell(mark.GetValueOrDefault(i, "")) } })];
        }
        var columns = paramColumns.Concat(derived).Concat(metrics).Append(new Column("status", ColumnKind.Status)).ToList();
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
        return new Comparison(columns, rows, options.GroupBy.Count > 0);
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
        // Only rows holding a best value are copied (the others keep their cells).
        var marked = new Dictionary<int, Dictionary<string, Cell>>();
        foreach (var m in metrics.Where(m => m.HigherIsBetter is not null))
        {
            var values = rows.Select(r => r.Cells.TryGetValue(m.Key, out var cell) ? cell.Value : null).Where(v => v is not null && double.IsFinite(v.Value)).ToList();
            if (values.Count < 2) continue;
            double best = m.HigherIsBetter == true ? values.Max()!.Value : values.Min()!.Value;
            for (int i = 0; i < rows.Count; i++)
                if (rows[i].Cells.TryGetValue(m.Key, out var cell) && cell.Value == best)
                {
                    if (!marked.TryGetValue(i, out var cells)) marked[i] = cells = new Dictionary<string, Cell>(rows[i].Cells);
                    cells[m.Key] = cell with { Best = true };
                }
        }
        return rows.Select((r, i) => marked.TryGetValue(i, out var cells) ? r with { Cells = cells } : r).ToList();
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
