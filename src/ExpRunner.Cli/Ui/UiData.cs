using System.Globalization;
using ExpRunner.Compare;
using ExpRunner.Tracking;

namespace ExpRunner.Cli.Ui;

/// <summary>What the runs page asks for: a filter, a sort, a grouping, and a window of the result.</summary>
public sealed record RunsQuery(string? Filter, string? Sort, bool Descending, IReadOnlyList<string> GroupBy);

/// <summary>
/// The runs the UI shows: every run under the runs directory, read through the run index and kept in
/// memory. A request older than <see cref="MaxAge"/> brings the snapshot up to date in the background
/// (the answer comes from the snapshot at hand), so 100,000 runs filter and sort without reading a
/// folder. The last query's ordered result is kept for scrolling through it page by page.
/// </summary>
public sealed class UiData(string runsRoot, string cacheDir, TimeProvider clock, Action<string>? warn = null)
{
    /// <summary>How old the runs shown may be: 2 s, or ten times what bringing them up to date takes (100,000 runs: about 3 s).</summary>
    public TimeSpan MaxAge => TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(2).Ticks, 10 * _took.Ticks));
    public string RunsRoot { get; } = Path.GetFullPath(runsRoot);

    private sealed record Snapshot(IReadOnlyList<RunRow> Rows, Dictionary<string, RunRow> ById, IReadOnlyList<string> ParamKeys,
        IReadOnlyList<string> MetricKeys, IReadOnlyList<string> Broken, DateTimeOffset At, long Version);

    private Snapshot? _snapshot;
    private Task? _refreshing;
    private long _version;
    private readonly Lock _gate = new();
    private (long Version, RunsQuery Query, IReadOnlyList<RunRow> Rows)? _last;

    /// <summary>The runs as of at most <see cref="MaxAge"/> ago (the first call waits for them).</summary>
    private Snapshot Current()
    {
        Task? wait = null;
        lock (_gate)
        {
            if (_snapshot is null) wait = _refreshing ??= Task.Run(Load);
            else if (clock.GetUtcNow() - _snapshot.At > MaxAge && _refreshing is null) _refreshing = Task.Run(Load);
        }
        wait?.GetAwaiter().GetResult();
        lock (_gate) return _snapshot ?? throw new InvalidOperationException("the runs could not be read");
    }

    /// <summary>Waits until a snapshot newer than now is at hand (a page that must show what is on disk this moment).</summary>
    public void Fresh()
    {
        var since = clock.GetUtcNow();
        while (true)
        {
            Task t;
            lock (_gate)
            {
                if (_snapshot is not null && _snapshot.At >= since) return;
                t = _refreshing ??= Task.Run(Load);
            }
            t.GetAwaiter().GetResult();
        }
    }

    private RunSet? _set;
    private TimeSpan _took;
    private readonly HashSet<string> _warned = [];

    /// <summary>What happened to the index cache, said once per kind of problem for the life of the UI.</summary>
    private void WarnOnce(string message)
    {
        lock (_warned) if (!_warned.Add(message.Split(" (")[0])) return;
        warn?.Invoke(message);
    }

    private void Load()
    {
        try
        {
            var at = clock.GetUtcNow();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            RunSet set;
            if (!Directory.Exists(RunsRoot)) set = new RunSet([], [], [], new IndexRefresh(0, 0, 0, 0, [], 0));
            else
            {
                var previous = _set;
                set = RunIndex.Use(RunsRoot, cacheDir, index => previous is null ? index.LoadSet() : index.Update(previous), WarnOnce);
            }
            _took = watch.Elapsed;
            Snapshot snapshot;
            lock (_gate)
            {
                if (_snapshot is not null && _set is not null && !set.Changed) snapshot = _snapshot with { At = at, Broken = set.Refresh.Broken };
                else
                {
                    var byId = new Dictionary<string, RunRow>(StringComparer.Ordinal);
                    foreach (var r in set.Rows) byId.TryAdd(r.Id, r);
                    snapshot = new Snapshot(set.Rows, byId, Compare.Keys.Of(set.Rows).Order(StringComparer.Ordinal).ToList(), Compare.Keys.Of(set.Rows, metrics: true),
                        set.Refresh.Broken, at, Interlocked.Increment(ref _version));
                }
                _set = set;
                _snapshot = snapshot;
            }
        }
        finally
        {
            lock (_gate) _refreshing = null;
        }
    }

    private sealed record OpeningRows(DateTimeOffset At, List<RunRow> Rows, int Total, List<string> Params, List<string> Metrics, IReadOnlyList<string> Broken);
    private OpeningRows? _opening;

    /// <summary>
    /// Starts the UI's reading of the runs: the index brought up to date and its newest page read (what
    /// the runs page shows as it opens), then every run read in the background. Returns how many runs
    /// there are and the broken folders found.
    /// </summary>
    public (int Runs, IReadOnlyList<string> Broken) Open()
    {
        try
        {
            var opening = ReadOpening();
            return (opening.Total, opening.Broken);
        }
        finally
        {
            lock (_gate) _refreshing ??= Task.Run(Load);
        }
    }

    private Task<OpeningRows>? _openingRead;

    /// <summary>The opening page read anew — or, while a reading is under way, that reading's answer (one at a time).</summary>
    private OpeningRows ReadOpening()
    {
        Task<OpeningRows> read;
        lock (_gate) read = _openingRead ??= Task.Run(ReadOpeningNow);
        try { return read.GetAwaiter().GetResult(); }
        finally { lock (_gate) if (_openingRead == read) _openingRead = null; }
    }

    private OpeningRows ReadOpeningNow()
    {
        var at = clock.GetUtcNow();
        if (!Directory.Exists(RunsRoot)) return new OpeningRows(at, [], 0, [], [], []);
        var opening = RunIndex.Use(RunsRoot, cacheDir, index =>
        {
            var refresh = index.Refresh();
            var (newest, total) = index.Newest(UiApi.MaxPage);
            var (names, metrics) = index.KeyNames();
            return new OpeningRows(at, newest, total, names.Order(StringComparer.Ordinal).ToList(), metrics, refresh.Broken);
        }, WarnOnce);
        lock (_gate) _opening = opening;
        return opening;
    }

    /// <summary>
    /// The runs page as it opens (no filter, no grouping, newest first, within the first
    /// <see cref="UiApi.MaxPage"/> rows) while every run is still being read: from the index's newest
    /// rows, read again when older than <see cref="MaxAge"/>. Null once every run is in memory, and for
    /// any other query (those wait for them).
    /// </summary>
    public (IReadOnlyList<RunRow> Rows, int Total, IReadOnlyList<string> Params, IReadOnlyList<string> Metrics, int Broken)? Opening(RunsQuery query, int window)
    {
        bool newestFirst = query.Filter is null && query.GroupBy.Count == 0 && (query.Sort is null || (query.Sort is "attributes.started" or "started" && query.Descending));
        OpeningRows? opening;
        lock (_gate)
        {
            if (_snapshot is not null || !newestFirst || window > UiApi.MaxPage) return null;
            opening = _opening;
        }
        if (opening is null || clock.GetUtcNow() - opening.At > MaxAge) opening = ReadOpening();
        lock (_gate) _refreshing ??= _snapshot is null ? Task.Run(Load) : null;
        return (opening.Rows, opening.Total, opening.Params, opening.Metrics, opening.Broken.Count);
    }

    /// <summary>How many runs there are and the broken folders, as known now: from every run once in memory, else from the opening page's reading.</summary>
    public (int Runs, IReadOnlyList<string> Broken) Known()
    {
        lock (_gate)
        {
            if (_snapshot is { } s) return (s.Rows.Count, s.Broken);
            if (_opening is { } o) return (o.Total, o.Broken);
        }
        var c = Current();
        return (c.Rows.Count, c.Broken);
    }

    public int Count => Current().Rows.Count;
    public IReadOnlyList<string> Broken => Current().Broken;
    public RunRow? Find(string id) => Current().ById.GetValueOrDefault(id);
    public (IReadOnlyList<string> Params, IReadOnlyList<string> Metrics) Columns() { var s = Current(); return (s.ParamKeys, s.MetricKeys); }

    /// <summary>The runs a filter matches, sorted; the same query again (a next page) reuses the result.</summary>
    public (IReadOnlyList<RunRow> Rows, int Total) Runs(RunsQuery query)
    {
        var s = Current();
        lock (_gate)
            if (_last is { } last && last.Version == s.Version && last.Query.Filter == query.Filter && last.Query.Sort == query.Sort && last.Query.Descending == query.Descending)
                return (last.Rows, s.Rows.Count);
        var filter = string.IsNullOrWhiteSpace(query.Filter) ? null : Filter.Parse(query.Filter);
        filter?.CheckKeys(s.Rows);
        var matched = filter is null ? s.Rows.ToList() : s.Rows.AsParallel().AsOrdered().Where(filter.Matches).ToList();
        var sorted = Sort(matched, query.Sort ?? "attributes.started", query.Sort is null || query.Descending, s);
        lock (_gate) _last = (s.Version, query, sorted);
        return (sorted, s.Rows.Count);
    }

    /// <summary>Groups of the filtered runs by params, each with the mean, spread and count of every metric (as compare --group-by).</summary>
    /// <remarks>Computed once per change: the same query on the same runs (a poll of an idle page, the next page of groups) reuses it.</remarks>
    public (Comparison Comparison, int Total) Groups(RunsQuery query)
    {
        var s = Current();
        string key = string.Join('\u0001', [query.Filter ?? "", query.Sort ?? "", query.Descending ? "1" : "0", .. query.GroupBy]);
        lock (_gate)
            if (_lastGroups is { } last && last.Version == s.Version && last.Key == key) return (last.Comparison, s.Rows.Count);
        var filter = string.IsNullOrWhiteSpace(query.Filter) ? null : Filter.Parse(query.Filter);
        var c = Comparison.Build(s.Rows, new ComparisonOptions { GroupBy = query.GroupBy, Filter = filter, Sort = query.Sort, Descending = query.Descending });
        lock (_gate) _lastGroups = (s.Version, key, c);
        Interlocked.Increment(ref _groupings);
        return (c, s.Rows.Count);
    }

    private (long Version, string Key, Comparison Comparison)? _lastGroups;
    private long _groupings;

    /// <summary>How many times groups were computed (not taken from the last answer): what a test of the reuse counts.</summary>
    public long Groupings => Interlocked.Read(ref _groupings);

    public static readonly string[] AttributeColumns = ["attributes.run_id", "attributes.experiment", "attributes.status", "attributes.started"];

    private static List<RunRow> Sort(List<RunRow> rows, string key, bool descending, Snapshot s)
    {
        int dir = descending ? -1 : 1;
        Comparison<RunRow> byId = (a, b) => string.CompareOrdinal(a.Id, b.Id);
        if (key is "attributes.started" or "started")
        {
            var keyed = rows.Select(r => (K: r.Started?.UtcTicks ?? long.MinValue, R: r)).ToArray();
            Array.Sort(keyed, (a, b) => a.K != b.K ? dir * a.K.CompareTo(b.K) : dir * byId(a.R, b.R));
            return keyed.Select(k => k.R).ToList();
        }
        Func<RunRow, string?> text = key switch
        {
            "attributes.run_id" or "attributes.id" or "id" => r => r.Id,
            "attributes.experiment" or "experiment" => r => r.Experiment,
            "attributes.status" or "status" => r => r.Status,
            _ when key.StartsWith("params.", StringComparison.Ordinal) => r => r.Params.GetValueOrDefault(key[7..]),
            _ when key.StartsWith("metrics.", StringComparison.Ordinal) => r => r.Metrics.TryGetValue(key[8..], out double v) ? v.ToString("R", CultureInfo.InvariantCulture) : null,
            _ => throw new CompareException($"cannot sort by '{key}': no such column{Compare.Keys.Suggest(key, AttributeColumns.Concat(s.ParamKeys.Select(k => "params." + k)).Concat(s.MetricKeys.Select(k => "metrics." + k)))}"),
        };
        if (key.StartsWith("params.", StringComparison.Ordinal) && !s.ParamKeys.Contains(key[7..]) || key.StartsWith("metrics.", StringComparison.Ordinal) && !s.MetricKeys.Contains(key[8..]))
            throw new CompareException($"cannot sort by '{key}': no run has it{Compare.Keys.Suggest(key, s.ParamKeys.Select(k => "params." + k).Concat(s.MetricKeys.Select(k => "metrics." + k)))}");
        if (key.StartsWith("metrics.", StringComparison.Ordinal))
        {
            string m = key[8..];
            var keyedMetric = rows.Select(r => (N: r.Metrics.TryGetValue(m, out double v) ? v : (double?)null, R: r)).ToArray();
            Array.Sort(keyedMetric, (a, b) => SortOrder.Numbers(a.N, b.N, descending) is var c && c != 0 ? c : byId(a.R, b.R));
            return keyedMetric.Select(k => k.R).ToList();
        }
        // The order compare uses: numbers as numbers when every present value is one; NaN, then missing, last either way.
        var values = rows.Select(r => (T: text(r), R: r)).ToArray();
        if (SortOrder.AllNumbers(values.Select(v => v.T), out var parse))
        {
            var keyed = values.Select(v => (N: parse(v.T), v.R)).ToArray();
            Array.Sort(keyed, (a, b) => SortOrder.Numbers(a.N, b.N, descending) is var c && c != 0 ? c : byId(a.R, b.R));
            return keyed.Select(k => k.R).ToList();
        }
        Array.Sort(values, (a, b) => SortOrder.Texts(a.T, b.T, descending) is var c && c != 0 ? c : byId(a.R, b.R));
        return values.Select(v => v.R).ToList();
    }
}
