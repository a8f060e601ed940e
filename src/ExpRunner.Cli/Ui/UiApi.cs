using ExpRunner.Config;
using System.Globalization;
using System.Text;
using ExpRunner.Compare;
using ExpRunner.IO;
using ExpRunner.Sweeps;
using ExpRunner.Tracking;
using ExpRunner.Training;
using Microsoft.AspNetCore.Http;

namespace ExpRunner.Cli.Ui;

/// <summary>A request the UI cannot answer as asked: 400 (or 404) with a message, and for a filter the position of the mistake.</summary>
public sealed class UiRequestException(int status, string message, int? position = null) : Exception(message)
{
    public int Status { get; } = status;
    public int? Position { get; } = position;
}

/// <summary>
/// The UI's JSON API: read-only views of the runs directory. Every answer is computed from the run
/// folders (through the run index for the runs table); nothing here writes to them.
/// </summary>
public sealed class UiApi(UiData data)
{
    public const int MaxPage = 1000, MaxCompared = 200, CurvesPerGroup = 50;
    private readonly SweepStore _sweeps = new(data.RunsRoot);
    private readonly ModelCache _models = new(data.RunsRoot);

    public static string Text(object value) => System.Text.Json.JsonSerializer.Serialize(value, Json.Compact);

    // ---- runs page ----------------------------------------------------------------------------

    public object Runs(IQueryCollection q)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var query = new RunsQuery(Str(q, "filter"), Str(q, "sort"), Str(q, "desc") is "1" or "true", List(q, "group"));
        int offset = Int(q, "offset", 0, 0, int.MaxValue), limit = Int(q, "limit", 200, 1, MaxPage);
        // The page as it opens is answered from the index's newest rows while every run is read in the background.
        if (offset + limit <= MaxPage && data.Opening(query, offset + limit) is { } opening)
            return new
            {
                total = opening.Total, matched = opening.Total, offset, param_keys = opening.Params, metric_keys = opening.Metrics, broken = opening.Broken,
                rows = opening.Rows.Skip(offset).Take(limit).Select(Row), ms = clock.Elapsed.TotalMilliseconds,
            };
        var (paramKeys, metricKeys) = data.Columns();
        try
        {
            if (query.GroupBy.Count > 0)
            {
                var (c, total) = data.Groups(query);
                return new
                {
                    total, matched = c.Rows.Sum(r => r.Runs.Count), groups_total = c.Rows.Count, offset, group_by = query.GroupBy,
                    param_keys = paramKeys, metric_keys = metricKeys, broken = data.Broken.Count,
                    groups = c.Rows.Skip(offset).Take(limit).Select(g => new
                    {
                        label = g.Label, values = query.GroupBy.ToDictionary(k => k, k => g.Runs[0].Params.GetValueOrDefault(k)), n = g.Runs.Count,
                        status = Comparison.StatusTally(g.Runs).ToDictionary(),
                        metrics = c.Columns.Where(col => col.Kind == ColumnKind.Metric && g.Cells.ContainsKey(col.Key)).ToDictionary(col => col.Name, col =>
                        {
                            var cell = g.Cells[col.Key];
                            return new { mean = cell.Value, std = cell.Std, n = cell.N, low = cell.Low, high = cell.High };
                        }),
                        ids = g.Runs.Take(MaxCompared).Select(r => r.Id),
                    }),
                    ms = clock.Elapsed.TotalMilliseconds,
                };
            }
            var (rows, all) = data.Runs(query);
            return new
            {
                total = all, matched = rows.Count, offset, param_keys = paramKeys, metric_keys = metricKeys, broken = data.Broken.Count,
                rows = rows.Skip(offset).Take(limit).Select(Row),
                ms = clock.Elapsed.TotalMilliseconds,
            };
        }
        catch (FilterException e) { throw new UiRequestException(400, e.Message, e.Position); }
        catch (CompareException e) { throw new UiRequestException(400, e.Message); }
    }

    private object Row(RunRow r) => new
    {
        id = r.Id, experiment = r.Experiment, status = r.Status, started = r.Started, superseded = r.Superseded,
        dir = Path.GetRelativePath(data.RunsRoot, r.Dir), @params = r.Params, metrics = r.Metrics,
    };

    // ---- run page -----------------------------------------------------------------------------

    public object Run(string id)
    {
        var folder = FolderOf(id);
        RunRecord? record = null;
        RunSummary? summary = null;
        var problems = new List<string>();
        bool Readable(string file)
        {
            if (Served(folder.PathOf(file))) return true;
            if (System.IO.File.Exists(folder.PathOf(file))) problems.Add($"{file} links outside the runs directory: not shown");
            return false;
        }
        if (Readable(RunFolder.RecordFile))
            try { record = folder.ReadRecord(); } catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { problems.Add(e.Message); }
        if (Readable(RunFolder.SummaryFile))
            try { summary = folder.ReadSummary(); } catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { problems.Add(e.Message); }
        IReadOnlyList<MetricRow> metrics = [];
        if (Readable(RunFolder.MetricsFile))
            try { metrics = folder.ReadMetrics(); } catch (IOException e) { problems.Add(e.Message); }
        return new
        {
            id = folder.Id, dir = Path.GetRelativePath(data.RunsRoot, folder.Dir),
            status = record is null ? null : RunFolder.EffectiveStatus(record),
            record, summary, problems,
            config = Readable(RunFolder.ConfigFile) ? Tail(folder.PathOf(RunFolder.ConfigFile), 256 << 10) : null,
            log = Readable(RunFolder.LogFile) ? Tail(folder.PathOf(RunFolder.LogFile), 256 << 10) : null,
            metrics = metrics.Select(m => new { epoch = m.Epoch, split = m.Split, step = m.Step, loss = m.Loss, accuracy = m.Accuracy, learning_rate = m.LearningRate, seconds = m.Seconds }),
            files = Files(folder), meta = Meta(folder),
        };
    }

    private IEnumerable<object> Files(RunFolder folder) =>
        new DirectoryInfo(folder.Dir).EnumerateFiles().Where(f => !f.Name.StartsWith('.') && Served(f.FullName)).OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => new { name = f.Name, bytes = f.Length });

    /// <summary>
    /// The one rule for every file and folder the server reads: it lies inside the runs directory once
    /// its links are resolved (a run folder, or a file in it, linked to elsewhere is not served).
    /// </summary>
    private bool Served(string path) => BoundedFile.Inside(path, data.RunsRoot);

    /// <summary>The end of a text file (the whole of a small one), or null when there is none.</summary>
    private static object? Tail(string path, int maxBytes)
    {
        if (BoundedFile.KindOf(path) != BoundedFile.Kind.Regular) return null;
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long skip = Math.Max(0, fs.Length - maxBytes);
        fs.Seek(skip, SeekOrigin.Begin);
        var bytes = new byte[fs.Length - skip];
        fs.ReadExactly(bytes);
        string text = Encoding.UTF8.GetString(bytes);
        if (skip > 0) text = text[(text.IndexOf('\n') + 1)..];
        return new { text, cut = skip > 0, bytes = fs.Length };
    }

    /// <summary>A file of a run folder — only a regular file directly inside it (no path, no link out of it).</summary>
    public (string Path, string ContentType) File(string id, string name)
    {
        var folder = FolderOf(id);
        if (name.Length == 0 || name is "." or ".." || name.IndexOfAny(['/', '\\', '\0']) >= 0)
            throw new UiRequestException(400, $"'{name}' is not a file name of a run folder");
        string path = Path.Combine(folder.Dir, name);
        if (!Served(path) || BoundedFile.KindOf(path) != BoundedFile.Kind.Regular)
            throw new UiRequestException(404, $"run {folder.Id} has no file '{name}'");
        string type = Path.GetExtension(name) switch
        {
            ".json" => "application/json; charset=utf-8",
            ".csv" or ".txt" or ".yaml" or ".log" => "text/plain; charset=utf-8",
            ".svg" => "image/svg+xml",
            _ => "application/octet-stream",
        };
        return (path, type);
    }

    private RunFolder FolderOf(string id)
    {
        var row = data.Find(id);
        if (row is null) { data.Fresh(); row = data.Find(id); }
        if (row is null) throw new UiRequestException(404, $"no run '{id}' under {data.RunsRoot}");
        if (!Served(row.Dir)) throw new UiRequestException(404, $"run {id} links outside the runs directory: not served");
        return RunFolder.Open(row.Dir);
    }

    // ---- writes: what a person says of a run, and the trash (the folder first, then the page) ---------

    /// <summary>Sets a run's label, tags and note from {"label": …, "tags": {…}, "note": …} (each optional; null clears it).</summary>
    public object WriteMeta(string id, System.Text.Json.Nodes.JsonObject body)
    {
        var folder = FolderOf(id);
        string? Text(string key) => body[key] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue(out string? t) ? t : body[key] is null ? null
            : throw new UiRequestException(400, $"{key}: a string (or null) is expected");
        Dictionary<string, string>? tags = null;
        if (body.ContainsKey("tags"))
        {
            if (body["tags"] is not System.Text.Json.Nodes.JsonObject t) throw new UiRequestException(400, "tags: an object of key: value strings is expected");
            tags = [];
            foreach (var (k, v) in t)
            {
                if (!RunMeta.ValidKey(k)) throw new UiRequestException(400, $"tag '{k}': letters, digits, '_', '-', '.', '/' and spaces (at most 250)");
                tags[k] = v is System.Text.Json.Nodes.JsonValue s && s.TryGetValue(out string? value) && value.Length <= 5000 ? value : throw new UiRequestException(400, $"tag '{k}': a string of at most 5,000 characters");
            }
        }
        string? label = body.ContainsKey("label") ? Text("label")?.Trim() : null;
        if (label is { Length: > 250 } || (label?.Any(char.IsControl) ?? false)) throw new UiRequestException(400, "label: one line of at most 250 characters");
        string? note = body.ContainsKey("note") ? Text("note") : null;
        if (note is { Length: > 64 << 10 }) throw new UiRequestException(400, "note: at most 65,536 characters");
        var meta = RunMeta.Update(folder, m => m with
        {
            Label = body.ContainsKey("label") ? (string.IsNullOrEmpty(label) ? null : label) : m.Label,
            Tags = tags ?? m.Tags,
            Note = body.ContainsKey("note") ? (string.IsNullOrWhiteSpace(note) ? null : note) : m.Note,
        });
        data.Fresh();
        return new { id = folder.Id, label = meta.Label, tags = meta.Tags, note = meta.Note };
    }

    public object TrashRun(string id)
    {
        var folder = FolderOf(id);
        try { Commands.Organize.Trash(data.RunsRoot, folder, DateTimeOffset.UtcNow); }
        catch (InputException e) { throw new UiRequestException(409, e.Message); }
        catch (RunBusyException e) { throw new UiRequestException(409, e.Message); }
        data.Fresh();
        return new { id = folder.Id, trashed = true };
    }

    public object Trash() => Commands.Organize.Trashed(data.RunsRoot).Select(x => new
    {
        id = x.Folder.Id, experiment = x.Experiment, status = x.Status, trashed = x.At,
    }).ToList();

    public object RestoreRun(string id)
    {
        var x = Commands.Organize.Trashed(data.RunsRoot).FirstOrDefault(t => t.Folder.Id == id) ?? throw new UiRequestException(404, $"no run '{id}' in the trash");
        try { Commands.Organize.Restore(data.RunsRoot, x); }
        catch (InputException e) { throw new UiRequestException(409, e.Message); }
        data.Fresh();
        return new { id, restored = true };
    }

    public object Meta(RunFolder folder)
    {
        try { var m = RunMeta.Read(folder); return new { label = m.Label, tags = m.Tags, note = m.Note }; }
        catch (InvalidDataException e) { return new { label = (string?)null, tags = new Dictionary<string, string>(), note = (string?)null, problem = e.Message }; }
    }

    // ---- evaluation: confusion matrix and misclassified examples ------------------------------

    /// <summary>A run whose config and weights may be read to evaluate it (both inside the runs directory).</summary>
    private RunFolder Evaluable(string id)
    {
        var folder = FolderOf(id);
        foreach (var file in new[] { RunFolder.ConfigFile, RunFolder.WeightsFile })
            if (System.IO.File.Exists(folder.PathOf(file)) && !Served(folder.PathOf(file)))
                throw new UiRequestException(404, $"{file} of run {id} links outside the runs directory: not served");
        return folder;
    }

    public object Evaluation(string id)
    {
        var folder = Evaluable(id);
        var (model, e) = _models.Evaluate(folder);
        int k = e.Confusion.GetLength(0);
        var test = model.Data.Test.Data;
        return new
        {
            split = "test", examples = e.Count, loss = e.Loss, accuracy = e.Accuracy, classes = test.ClassNames,
            confusion = Enumerable.Range(0, k).Select(a => Enumerable.Range(0, k).Select(p => e.Confusion[a, p]).ToArray()),
            images = test.HasPixels && test.ImageWidth > 0,
            mistakes = e.Mistakes.Take(96).Select(m => new { example = m.Example, label = m.Label, predicted = m.Predicted }),
        };
    }

    public byte[] Example(string id, int example)
    {
        var folder = Evaluable(id);
        var (model, _) = _models.Evaluate(folder);
        var test = model.Data.Test.Data;
        if (!test.HasPixels || test.ImageWidth <= 0) throw new UiRequestException(404, $"run {id} does not train on images");
        if (example < 0 || example >= test.Count) throw new UiRequestException(404, $"example {example} is outside the test data (0..{test.Count - 1})");
        return Png.Grayscale(test.Pixels(example), test.ImageWidth, scale: 2);
    }

    // ---- compare page -------------------------------------------------------------------------

    public object Compare(IQueryCollection q)
    {
        var (runs, groupBy) = Selected(q);

        // The params that differ between the runs: the config diff.
        var keys = ExpRunner.Compare.Keys.Of(runs);
        var differing = keys.Where(k => runs.Any(r => r.Params.GetValueOrDefault(k) != runs[0].Params.GetValueOrDefault(k))).ToList();
        if (groupBy.Count == 0)
        {
            var same = Marks(runs.Select(r => (IReadOnlyList<RunRow>)[r]).ToList());
            return new
            {
                rule = Equivalence.Rule,
                runs = runs.Select((r, i) => new
                {
                    id = r.Id, experiment = r.Experiment, status = r.Status, @params = r.Params, metrics = r.Metrics, curves = Curves(r),
                    effective_lr = Equivalence.EffectiveText(r.Params), same_config = same.GetValueOrDefault(i),
                }),
                differing, same = keys.Except(differing).ToDictionary(k => k, k => runs[0].Params.GetValueOrDefault(k)),
            };
        }
        var grouped = runs.GroupBy(r => string.Join('\u0001', groupBy.Select(k => r.Params.GetValueOrDefault(k, "")))).Select(g => g.ToList()).ToList();
        var marks = Marks(grouped.Select(g => (IReadOnlyList<RunRow>)g).ToList());
        var groups = grouped.Select((members, index) =>
        {
            var lrs = members.Select(r => Equivalence.EffectiveText(r.Params)).Distinct().ToList();
            // Curves of many runs are read from as many folders: a group's are drawn from its first runs, and that is said.
            var curves = members.Take(CurvesPerGroup).AsParallel().AsOrdered().Select(Curves).ToList();
            return new
            {
                label = string.Join(", ", groupBy.Select(k => $"{k}={members[0].Params.GetValueOrDefault(k, "-")}")),
                values = groupBy.ToDictionary(k => k, k => members[0].Params.GetValueOrDefault(k)),
                n = members.Count, drawn = curves.Count, ids = members.Take(MaxCompared).Select(r => r.Id),
                effective_lr = lrs is [var one] ? one : "mixed", same_config = marks.GetValueOrDefault(index),
                final = ExpRunner.Compare.Comparison.MetricColumns.Where(m => members.Any(r => r.Metrics.ContainsKey(m.Name))).ToDictionary(m => m.Name, m =>
                {
                    var v = members.Where(r => r.Metrics.ContainsKey(m.Name)).Select(r => r.Metrics[m.Name]).ToList();
                    var ci = Statistics.Ci95(v);
                    return new { mean = Statistics.Mean(v), std = Statistics.StdDev(v), n = v.Count, low = ci?.Low, high = ci?.High };
                }),
                curves = Band(curves),
            };
        }).ToList();
        return new { group_by = groupBy, groups, differing = differing.Except(groupBy), runs = runs.Count, rule = Equivalence.Rule };
    }

    /// <summary>Rows (runs, or groups of runs) that are one configuration, marked ≡a, ≡b, … as compare marks them.</summary>
    private static Dictionary<int, string> Marks(IReadOnlyList<IReadOnlyList<RunRow>> rows) =>
        ExpRunner.Compare.Comparison.SameConfigMarks(rows, Commands.CompareCommand.TrainCount);

    /// <summary>The runs a compare request names (runs=…, or a filter) and what it groups them by, each checked.</summary>
    private (List<RunRow> Runs, List<string> GroupBy) Selected(IQueryCollection q)
    {
        var ids = List(q, "runs");
        var groupBy = List(q, "group");
        string? filter = Str(q, "filter");
        List<RunRow> runs;
        if (ids.Count > 0)
        {
            if (ids.Count > MaxCompared) throw new UiRequestException(400, $"{ids.Count} runs: compare at most {MaxCompared} at once (or group them)");
            // A run that has just started (a sweep's new trial) may be newer than the runs in memory: read them again, once.
            if (ids.Any(id => data.Find(id) is null)) data.Fresh();
            runs = ids.Select(id => data.Find(id) ?? throw new UiRequestException(404, $"no run '{id}' under {data.RunsRoot}")).ToList();
        }
        else if (filter is not null || groupBy.Count > 0)
        {
            try { runs = data.Runs(new RunsQuery(filter, null, false, [])).Rows.ToList(); }
            catch (FilterException e) { throw new UiRequestException(400, e.Message, e.Position); }
            catch (CompareException e) { throw new UiRequestException(400, e.Message); }
            if (groupBy.Count == 0 && runs.Count > MaxCompared) throw new UiRequestException(400, $"{runs.Count} runs match: compare at most {MaxCompared} at once (or group them)");
        }
        else throw new UiRequestException(400, "say which runs to compare: runs=ID,ID,... or a filter (and group=KEY,... to compare groups)");
        var known = ExpRunner.Compare.Keys.Of(runs).ToHashSet();
        foreach (var k in groupBy)
            if (!known.Contains(k)) throw new UiRequestException(400, $"cannot group by '{k}': no run has that param{ExpRunner.Compare.Keys.Suggest(k, known)}");

        return (runs, groupBy);
    }

    // ---- every step: a run's record and probes, and compared runs' per-step curves ------------

    /// <summary>Pixel columns the per-step series are decimated to (each column its lowest and highest point).</summary>
    public const int StepColumns = 700;

    private static object Series(IReadOnlyList<(double X, double Y)> points)
    {
        var kept = Plots.Envelope.MinMax(points, StepColumns);
        return new { x = kept.Select(p => p.X), y = kept.Select(p => p.Y), points = points.Count };
    }

    /// <summary>
    /// A run's steps.csv.gz for the Dynamics tab: batch loss, batch accuracy and learning rate per step, and each layer's
    /// probes per probed step — each series decimated to <see cref="StepColumns"/> columns by its min/max envelope.
    /// </summary>
    public object Steps(string id)
    {
        var folder = FolderOf(id);
        string path = folder.PathOf(StepLog.File);
        if (!System.IO.File.Exists(path)) return new { id = folder.Id, steps = 0, probed = 0, series = new Dictionary<string, object>(), layers = Array.Empty<object>() };
        if (!Served(path)) throw new UiRequestException(404, $"{StepLog.File} of run {id} links outside the runs directory: not served");
        StepRecord record;
        try { record = StepLog.ReadRecord(folder); }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException) { throw new UiRequestException(500, $"{path}: {e.Message}"); }
        var d = Dynamics.From(record);
        var shapes = ModelShape(folder);
        return new
        {
            id = folder.Id, steps = record.Steps.Count, probed = d.Probed.Length,
            series = new Dictionary<string, object>
            {
                ["batch_loss"] = Series([.. record.Steps.Select(x => ((double)x.Step, x.Loss))]),
                ["batch_accuracy"] = Series([.. record.Steps.Select(x => ((double)x.Step, x.Accuracy))]),
                ["learning_rate"] = Series([.. record.Steps.Select(x => ((double)x.Step, x.LearningRate))]),
            },
            layers = d.Layers.Select((probes, l) => new
            {
                layer = l, name = $"layer {l}" + (l < shapes.Count ? " · " + shapes[l] : ""),
                probes = probes.ToDictionary(kv => kv.Key, kv => Series([.. d.Probed.Select((step, i) => ((double)step, kv.Value[i]))])),
            }),
        };
    }

    private static List<string> ModelShape(RunFolder folder)
    {
        try
        {
            var c = Config.ConfigLoader.Load(folder.PathOf(RunFolder.ConfigFile)).Config;
            return [.. c.Model.Layers.Select(l => $"{l.Units} {Config.SnakeNames<Config.ActivationKind>.Of(l.Activation)}")];
        }
        catch (Exception e) when (e is Config.ConfigException or IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>One per-step series of a run: batch_loss, batch_accuracy, learning_rate, or a probe column (layer0.weight.update_ratio).</summary>
    private static List<(double X, double Y)> StepSeries(RunRow r, string metric)
    {
        string path = Path.Combine(r.Dir, StepLog.File);
        if (!System.IO.File.Exists(path)) return [];
        try { return Plots.LearningCurves.StepValues(StepLog.ReadRecord(path, live: r.Status == RunStatus.Running), metric); }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException) { return []; }
    }

    /// <summary>The per-step series compare can draw for these runs: the record's three and every probe column any of them has.</summary>
    private static List<string> StepMetricsOf(IEnumerable<RunRow> runs)
    {
        var names = new List<string> { "batch_loss", "batch_accuracy", "learning_rate" };
        foreach (var r in runs)
        {
            string path = Path.Combine(r.Dir, StepLog.File);
            if (!System.IO.File.Exists(path)) continue;
            try { foreach (var c in StepLog.ProbeColumnsOf(path)) if (!names.Contains(c)) names.Add(c); }
            catch (Exception e) when (e is IOException or InvalidDataException) { }
        }
        return names;
    }

    /// <summary>
    /// Compared runs' (or groups') per-step curves of one series: each run's decimated by its min/max envelope; a group's
    /// as the mean over its runs at each step with a band from the lowest to the highest, each pixel column keeping the
    /// extremes of its steps.
    /// </summary>
    public object CompareSteps(IQueryCollection q)
    {
        var (runs, groupBy) = Selected(q);
        var metrics = StepMetricsOf(runs.Take(CurvesPerGroup));
        string metric = Str(q, "metric") ?? "batch_loss";
        if (!metrics.Contains(metric))
            throw new UiRequestException(400, $"no per-step series '{metric}' in these runs: {string.Join(", ", metrics)}{ExpRunner.Compare.Keys.Suggest(metric, metrics)}");
        if (groupBy.Count == 0)
            return new { metric, metrics, runs = runs.AsParallel().AsOrdered().Select(r => new { id = r.Id, curve = Series(StepSeries(r, metric)) }).ToList() };
        var groups = runs.GroupBy(r => string.Join('\u0001', groupBy.Select(k => r.Params.GetValueOrDefault(k, "")))).Select(g =>
        {
            var members = g.ToList();
            var curves = members.Take(CurvesPerGroup).AsParallel().AsOrdered().Select(r => StepSeries(r, metric)).ToList();
            var band = Plots.Envelope.Band(Plots.Envelope.Across(curves), StepColumns);
            return new
            {
                label = string.Join(", ", groupBy.Select(k => $"{k}={members[0].Params.GetValueOrDefault(k, "-")}")),
                values = groupBy.ToDictionary(k => k, k => members[0].Params.GetValueOrDefault(k)),
                n = members.Count, drawn = curves.Count, x = band.Select(p => p.X), mean = band.Select(p => p.Mean), low = band.Select(p => p.Low), high = band.Select(p => p.High),
            };
        }).ToList();
        return new { metric, metrics, group_by = groupBy, groups };
    }

    /// <summary>A run's metrics per epoch, one series per split and measure (test_accuracy, train_loss, ...).</summary>
    private static Dictionary<string, SortedDictionary<int, double>> Curves(RunRow r)
    {
        var series = new Dictionary<string, SortedDictionary<int, double>>();
        IReadOnlyList<MetricRow> rows;
        try { rows = RunFolder.Open(r.Dir).ReadMetrics(); }
        catch (IOException) { return series; }
        foreach (var m in rows)
        {
            (series.TryGetValue(m.Split + "_loss", out var l) ? l : series[m.Split + "_loss"] = [])[m.Epoch] = m.Loss;
            (series.TryGetValue(m.Split + "_accuracy", out var a) ? a : series[m.Split + "_accuracy"] = [])[m.Epoch] = m.Accuracy;
        }
        return series;
    }

    /// <summary>The runs' curves as one per series: per epoch the mean over the runs that reached it, and their lowest and highest value.</summary>
    private static Dictionary<string, object> Band(List<Dictionary<string, SortedDictionary<int, double>>> runs) =>
        runs.SelectMany(r => r.Keys).Distinct().ToDictionary(name => name, name =>
        {
            var epochs = runs.SelectMany(r => r.TryGetValue(name, out var s) ? (IEnumerable<int>)s.Keys : []).Distinct().Order().ToList();
            var at = epochs.Select(e => runs.Select(r => r.TryGetValue(name, out var s) && s.TryGetValue(e, out double v) ? (double?)v : null).OfType<double>().ToList()).ToList();
            return (object)new
            {
                epochs, mean = at.Select(v => Statistics.Mean(v)), low = at.Select(v => v.Min()), high = at.Select(v => v.Max()), n = at.Select(v => v.Count),
            };
        });

    // ---- sweeps -------------------------------------------------------------------------------

    public object Sweeps() => _sweeps.Ids().Reverse().Select(id =>
    {
        try
        {
            if (!Served(_sweeps.DirOf(id))) throw new IOException($"sweep {id} links outside the runs directory: not served");
            var s = _sweeps.Read(id);
            var counts = s.Trials.GroupBy(t => t.Status).ToDictionary(g => g.Key, g => g.Count());
            return (object)new { id, experiment = s.Experiment, status = s.Status, executor = s.Executor, created = s.Created, ended = s.Ended, trials = s.Trials.Count, counts, swept = s.SweptKeys, repeats = s.Repeats };
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return new { id, problem = e.Message };
        }
    }).ToList();

    public object Sweep(string id)
    {
        SweepRecord s;
        try
        {
            if (!Served(_sweeps.DirOf(_sweeps.Resolve(id)))) throw new UiRequestException(404, $"sweep {id} links outside the runs directory: not served");
            s = _sweeps.Read(id);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException) { throw new UiRequestException(404, e.Message); }
        var progress = new TrialProgressReader(_sweeps);
        // A trial that ended after the runs in memory were read: read them again (once for the request).
        if (s.Trials.Any(t => t.RunId is not null && TrialStatus.IsResult(t.Status) && data.Find(t.RunId) is null)) data.Fresh();
        var trials = s.Trials.Select(t =>
        {
            var dir = _sweeps.RunDirOf(t);
            var row = t.RunId is null ? null : data.Find(t.RunId);
            string status = t.Status;
            TrialProgress? p = null;
            if (t.InFlight && dir is not null)
            {
                // The sweep's own record can lag (or its process be gone): the run folder says how the trial is.
                var record = RunFolder.Open(dir).TryReadRecord();
                if (record is not null) status = RunFolder.EffectiveStatus(record) is var e && e != RunStatus.Running ? e : status;
                p = progress.Of(t);
            }
            return new
            {
                index = t.Index, status, reason = t.Reason, run = t.RunId, attempts = t.Attempts, seconds = t.Seconds, seed = t.Seed, repeat = t.Repeat,
                values = SweptValues(t, s.SweptKeys), progress = p is null ? null : new { epoch = p.Epoch, epochs = p.Epochs, metric = p.Metric, accuracy = p.Accuracy, loss = p.Loss },
                // A trial that has just ended may be ahead of the runs in memory: its result is read from its folder.
                metrics = TrialStatus.IsResult(status) && (row is null || row.Metrics.Count == 0) && dir is not null ? RunRow.Load(RunFolder.Open(dir))?.Metrics ?? row?.Metrics : row?.Metrics,
            };
        }).ToList();
        return new { id = s.Id, experiment = s.Experiment, status = s.Status, executor = s.Executor, created = s.Created, ended = s.Ended, swept = s.SweptKeys, repeats = s.Repeats, trials };
    }

    /// <summary>A trial's values of the swept keys, from its overrides (key=value).</summary>
    private static Dictionary<string, string?> SweptValues(TrialRecord t, IReadOnlyList<string> swept)
    {
        var values = new Dictionary<string, string?>();
        foreach (var o in t.Overrides)
        {
            int eq = o.IndexOf('=');
            if (eq > 0) values[o[..eq]] = o[(eq + 1)..];
        }
        return swept.ToDictionary(k => k, k => values.GetValueOrDefault(k) ?? (k == "seed" ? t.Seed.ToString(CultureInfo.InvariantCulture) : null));
    }

    // ---- query helpers ------------------------------------------------------------------------

    private static string? Str(IQueryCollection q, string name) => q.TryGetValue(name, out var v) && v.Count > 0 && !string.IsNullOrEmpty(v[^1]) ? v[^1] : null;

    private static List<string> List(IQueryCollection q, string name) =>
        Str(q, name)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList() ?? [];

    private static int Int(IQueryCollection q, string name, int fallback, int min, int max)
    {
        if (Str(q, name) is not { } text) return fallback;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new UiRequestException(400, $"{name}={text}: a whole number from {min} to {max}");
        return v;
    }

    /// <summary>Models rebuilt for evaluation, the last few kept (a page asks for its matrix, then for each image).</summary>
    private sealed class ModelCache(string runsRoot)
    {
        private readonly Lock _gate = new();
        private readonly LinkedList<(string Key, Lazy<(SavedModel, Training.Evaluation)> Value)> _recent = new();

        public (SavedModel Model, Training.Evaluation Evaluation) Evaluate(RunFolder folder)
        {
            string weights = folder.PathOf(RunFolder.WeightsFile);
            if (!System.IO.File.Exists(weights)) throw new UiRequestException(404, $"run {folder.Id} has no saved weights ({RunFolder.WeightsFile}) to evaluate");
            string key = folder.Dir + "\n" + System.IO.File.GetLastWriteTimeUtc(weights).Ticks.ToString(CultureInfo.InvariantCulture);
            Lazy<(SavedModel, Training.Evaluation)> lazy;
            lock (_gate)
            {
                var node = _recent.FirstOrDefault(n => n.Key == key);
                if (node.Value is not null) lazy = node.Value;
                else
                {
                    lazy = new(() =>
                    {
                        // Relative data paths are read where the run ran (recorded), else beside the runs directory (its usual place).
                        string? where = folder.TryReadRecord()?.WorkingDirectory;
                        if (where is null || !Directory.Exists(where)) where = Path.GetDirectoryName(Path.GetFullPath(runsRoot));
                        var model = SavedModel.Open(folder.PathOf(RunFolder.ConfigFile), weights, dataBase: where);
                        model.Threads = 1;
                        return (model, model.Evaluate("test"));
                    });
                    _recent.AddFirst((key, lazy));
                    while (_recent.Count > 3) _recent.RemoveLast();
                }
            }
            try { return lazy.Value; }
            catch (Exception e) when (e is not OutOfMemoryException and not UiRequestException)
            {
                // Never cached: the next look tries again (the data may be fetched meanwhile).
                lock (_gate) { var n = _recent.FirstOrDefault(x => x.Key == key); if (n.Value is not null) _recent.Remove(n); }
                throw new UiRequestException(422, $"run {folder.Id} cannot be evaluated: {e.Message}");
            }
        }
    }
}
