using System.Globalization;
using System.IO.Compression;
using System.Text;
using ExpRunner.IO;
using ExpRunner.Training;

namespace ExpRunner.Tracking;

/// <summary>A steps file read back: the probe columns after the six fixed ones, and the rows.</summary>
public sealed record StepRecord(IReadOnlyList<string> ProbeColumns, IReadOnlyList<StepMetrics> Steps);

/// <summary>
/// The per-step record of a run, steps.csv.gz beside metrics.csv: one line per step (or every
/// tracking.every_steps-th) — step, epoch, batch, loss, accuracy, learning_rate — the batch's mean
/// loss and accuracy measured before its update, and the rate of that update. Gzip-compressed CSV, so
/// pandas (`pd.read_csv("steps.csv.gz")`), polars and DuckDB read it in one line and a 50,000-step run
/// costs a few hundred kilobytes. Lines are appended as gzip members (readers see one stream) every
/// 64 lines or second, and at the run's end; a checkpoint keeps those not yet written, and a
/// resume rewrites the file whole with the epochs it keeps. With probes, their columns follow
/// (filled on probed steps, empty on the others and where a value is not defined), and their
/// histograms go to histograms.jsonl at each epoch's end.
/// </summary>
public sealed class StepLog(string path, int every, IReadOnlyList<string>? probes = null, bool singles = false) : IStepObserver
{
    public const string File = "steps.csv.gz";
    public const string HistogramsFile = "histograms.jsonl";
    public const string Header = "step,epoch,batch,loss,accuracy,learning_rate";

    /// <summary>The header of a record with these probe columns.</summary>
    public static string HeaderOf(IReadOnlyList<string>? probes) => probes is { Count: > 0 } ? Header + "," + string.Join(',', probes) : Header;

    private readonly string _header = HeaderOf(probes);

    /// <summary>With probes a line is several times longer and compressing it took a tenth of a small network's step: zlib's fastest level then.</summary>
    private readonly CompressionLevel _level = probes is { Count: > 0 } ? CompressionLevel.Fastest : CompressionLevel.Optimal;

    /// <summary>Probe values are written to float32's precision (a float32 run).</summary>
    public bool Singles => singles;

    /// <summary>The probe columns after the six fixed ones.</summary>
    public IReadOnlyList<string> ProbeColumns { get; } = probes ?? [];

    private readonly MemoryStream _member = new();
    private readonly StringBuilder _pending = new();
    private readonly System.Diagnostics.Stopwatch _sinceWrite = System.Diagnostics.Stopwatch.StartNew();
    private int _pendingLines;
    private readonly List<StepMetrics> _recorded = [];
    private bool _started, _rewrite;

    /// <summary>Lines kept in memory before they are written (unless a second has passed, or the run ends).</summary>
    public const int Batch = 64;

    public void Step(in StepMetrics s)
    {
        if (s.Step % every != 0 && double.IsFinite(s.Loss) && s.Probes is null) return; // a diverging or probed step is always kept
        _pending.Append(CultureInfo.InvariantCulture, $"{s.Step},{s.Epoch},{s.Batch},{s.Loss:R},{s.Accuracy:R},{s.LearningRate:R}");
        if (probes is { Count: > 0 })
            for (int i = 0; i < probes.Count; i++)
            {
                _pending.Append(',');
                // A float32 run's probes are written to float32's precision (its shortest round-trip text): the digits beyond it say nothing.
                if (s.Probes is { } v && !double.IsNaN(v[i]))
                    if (singles) _pending.Append(CultureInfo.InvariantCulture, $"{(float)v[i]:R}"); else _pending.Append(CultureInfo.InvariantCulture, $"{v[i]:R}");
            }
        _pending.Append('\n');
        _pendingLines++;
        _recorded.Add(s);
    }

    /// <summary>
    /// The lines not yet in the file (a checkpoint keeps them, so a resume continues the record exactly
    /// whatever was written when).
    /// </summary>
    public string Pending => _pending.ToString();

    /// <summary>
    /// Writes the steps held in memory as one more gzip member at the end of the file — when
    /// <paramref name="force"/> (the run ends), or once <see cref="Batch"/> lines or a second have
    /// gathered (so a run of 50,000 one-step epochs does not write 50,000 members). The first write of
    /// a run, or of a resume, writes the file whole (atomically).
    /// </summary>
    /// <returns>The steps recorded since the last write that this one wrote (what a mirror is sent); empty when nothing was written.</returns>
    public IReadOnlyList<StepMetrics> Flush(bool force)
    {
        if (!force && _pendingLines < Batch && _sinceWrite.ElapsedMilliseconds < 1000) return [];
        if (_pending.Length == 0 && _started) return [];
        var written = _recorded.ToArray();
        _recorded.Clear();
        if (!_started && !_rewrite) _pending.Insert(0, _header + "\n");
        _member.SetLength(0);
        using (var gzip = new GZipStream(_member, _level, leaveOpen: true))
            gzip.Write(Encoding.UTF8.GetBytes(_pending.ToString()));
        _pending.Clear();
        _pendingLines = 0;
        _sinceWrite.Restart();
        var bytes = _member.GetBuffer().AsSpan(0, (int)_member.Length);
        if (!_started || _rewrite)
        {
            var whole = bytes.ToArray();
            Atomic.Write(path, s => s.Write(whole), durable: false);
            (_started, _rewrite) = (true, false);
            return written;
        }
        using (var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read))
            file.Write(bytes);
        return written;
    }

    /// <summary>
    /// Continues a record from a resumed run's file and its checkpoint's <paramref name="pending"/>
    /// lines (those not yet written when the checkpoint was): the steps of epochs after
    /// <paramref name="fromEpoch"/> (trained again) are dropped, so the record ends as an uninterrupted
    /// run's does.
    /// </summary>
    public static StepLog Resume(string path, int every, int fromEpoch, string? pending, IReadOnlyList<string>? probes = null, bool singles = false)
    {
        var log = new StepLog(path, every, probes, singles);
        string header = HeaderOf(probes);
        long last = 0;
        bool any = false;
        void Keep(string line)
        {
            var cells = line.Split(',', 3);
            if (cells.Length == 3 && long.TryParse(cells[0], CultureInfo.InvariantCulture, out long step) && step > last
                && int.TryParse(cells[1], CultureInfo.InvariantCulture, out int epoch) && epoch <= fromEpoch)
            {
                log._pending.Append(line).Append('\n');
                log._pendingLines++;
                last = step;
            }
        }
        if (System.IO.File.Exists(path))
        {
            using var reader = new StreamReader(new GZipStream(System.IO.File.OpenRead(path), CompressionMode.Decompress));
            if (reader.ReadLine() == header)
            {
                any = true;
                for (string? line; (line = reader.ReadLine()) is not null;) Keep(line);
            }
        }
        foreach (var line in (pending ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries)) Keep(line);
        if (any || log._pending.Length > 0)
        {
            log._pending.Insert(0, header + "\n");
            log._rewrite = true; // the kept lines and the resumed epochs' are written whole at the first write
        }
        string histograms = Path.Combine(Path.GetDirectoryName(path) ?? ".", HistogramsFile);
        if (System.IO.File.Exists(histograms))
        {
            // The histograms of epochs trained again go; those kept stay as they were.
            var kept = JsonLines.Read(histograms, 1L << 30).Lines.Where(l => EpochOf(l.Text) is { } e && e <= fromEpoch).Select(l => l.Text + "\n");
            Atomic.WriteText(histograms, string.Concat(kept));
        }
        return log;
    }

    private static int? EpochOf(string json)
    {
        try { return System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("epoch").GetInt32(); }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException) { return null; }
    }

    /// <summary>Appends an epoch's histograms to histograms.jsonl: one JSON line each (epoch, step, layer, tensor, of: value or gradient, low, high, counts).</summary>
    public void Histograms(int epoch, long step, IReadOnlyList<Histogram> histograms)
    {
        var text = new StringBuilder();
        foreach (var h in histograms)
            text.Append(System.Text.Json.JsonSerializer.Serialize(new System.Text.Json.Nodes.JsonObject
            {
                ["epoch"] = epoch, ["step"] = step, ["layer"] = h.Layer, ["tensor"] = h.Tensor, ["of"] = h.Of,
                ["low"] = h.Low, ["high"] = h.High, ["counts"] = new System.Text.Json.Nodes.JsonArray([.. h.Counts.Select(c => (System.Text.Json.Nodes.JsonNode)c)]),
            })).Append('\n');
        JsonLines.Append(Path.Combine(Path.GetDirectoryName(path) ?? ".", HistogramsFile), text.ToString());
    }

    /// <summary>A steps file's probe columns, from its header alone (nothing else is read).</summary>
    public static IReadOnlyList<string> ProbeColumnsOf(string path)
    {
        using var reader = new StreamReader(new GZipStream(System.IO.File.OpenRead(path), CompressionMode.Decompress));
        return HeaderColumns(reader.ReadLine(), path);
    }

    /// <summary>The probe columns a header names; <see cref="InvalidDataException"/> when it is not a steps record's.</summary>
    private static string[] HeaderColumns(string? header, string path) =>
        header is null || !(header == Header || header.StartsWith(Header + ",", StringComparison.Ordinal)) ? throw new InvalidDataException($"{path}: not a steps record")
        : header.Length > Header.Length ? header[(Header.Length + 1)..].Split(',') : [];

    /// <summary>The rows of a steps file (for tests and readers in this tool).</summary>
    public static IReadOnlyList<StepMetrics> Read(string path) => ReadRecord(path).Steps;

    /// <summary>A finished run's steps file, whole to the end (see the overload).</summary>
    public static StepRecord ReadRecord(string path) => ReadRecord(path, live: false);

    /// <summary>A run folder's steps file, read as live while its record says the run trains.</summary>
    public static StepRecord ReadRecord(RunFolder folder) =>
        ReadRecord(folder.PathOf(File), live: folder.TryReadRecord()?.Status == RunStatus.Running);

    /// <summary>
    /// A steps file: its probe columns and its rows (each probed row's values in the columns' order, NaN where empty).
    /// <paramref name="live"/>: the file of a run still training, which may be read while a member is being appended: what
    /// follows its last whole line is not read (a line is whole once its newline is in), where a finished run's file must
    /// be whole to the end.
    /// </summary>
    public static StepRecord ReadRecord(string path, bool live)
    {
        var rows = new List<StepMetrics>();
        using var gzip = new GZipStream(BoundedFile.KindOf(path) == BoundedFile.Kind.Regular
            ? System.IO.File.OpenRead(path) : throw new FileNotFoundException($"{path}: no such file", path), CompressionMode.Decompress);
        using var lines = Lines(new StreamReader(gzip), live).GetEnumerator();
        string[] probes = HeaderColumns(lines.MoveNext() ? lines.Current : null, path);
        var inv = CultureInfo.InvariantCulture;
        int number = 1;
        while (lines.MoveNext())
        {
            string line = lines.Current;
            number++;
            var c = line.Split(',');
            if (c.Length != 6 + probes.Length) throw new InvalidDataException($"{path}:{number}: {c.Length} cells, the header has {6 + probes.Length}");
            double[]? values = null;
            if (probes.Length > 0 && c.Skip(6).Any(v => v.Length > 0))
                values = [.. c.Skip(6).Select(v => v.Length == 0 ? double.NaN : double.Parse(v, NumberStyles.Float, inv))];
            rows.Add(new StepMetrics(long.Parse(c[0], inv), int.Parse(c[1], inv), int.Parse(c[2], inv), 0,
                double.Parse(c[3], NumberStyles.Float, inv), double.Parse(c[4], NumberStyles.Float, inv), double.Parse(c[5], NumberStyles.Float, inv)) { Probes = values });
        }
        return new StepRecord(probes, rows);
    }

    /// <summary>The text's lines, each ended by a newline; when <paramref name="live"/>, up to where the stream stops being readable.</summary>
    private static IEnumerable<string> Lines(StreamReader reader, bool live)
    {
        var tail = new StringBuilder();
        var block = new char[16384];
        while (true)
        {
            int n;
            try { n = reader.Read(block, 0, block.Length); }
            catch (InvalidDataException) when (live) { yield break; } // a member still being written
            if (n == 0) break;
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (block[i] != '\n') continue;
                if (tail.Length > 0) { tail.Append(block, start, i - start); yield return tail.ToString(); tail.Clear(); }
                else yield return new string(block, start, i - start);
                start = i + 1;
            }
            tail.Append(block, start, n - start);
        }
        // Every line is written with its newline: a finished run's record that ends inside one was cut short.
        if (tail.Length > 0 && !live) throw new InvalidDataException("the file ends inside a line: it was cut short");
    }
}
