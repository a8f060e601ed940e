using System.Globalization;
using System.IO.Compression;
using System.Text;
using ExpRunner.IO;
using ExpRunner.Training;

namespace ExpRunner.Tracking;

/// <summary>
/// The per-step record of a run, steps.csv.gz beside metrics.csv: one line per step (or every
/// tracking.every_steps-th) — step, epoch, batch, loss, accuracy, learning_rate — the batch's mean
/// loss and accuracy measured before its update, and the rate of that update. Gzip-compressed CSV, so
/// pandas (`pd.read_csv("steps.csv.gz")`), polars and DuckDB read it in one line and a 50,000-step run
/// costs a few hundred kilobytes. Lines are appended as gzip members (readers see one stream) every
/// 64 lines or second, and at the run's end; a checkpoint keeps those not yet written, and a
/// resume rewrites the file whole with the epochs it keeps.
/// </summary>
public sealed class StepLog(string path, int every) : IStepObserver
{
    public const string File = "steps.csv.gz";
    public const string Header = "step,epoch,batch,loss,accuracy,learning_rate";

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
        if (s.Step % every != 0 && double.IsFinite(s.Loss)) return; // a diverging step is always kept
        _pending.Append(CultureInfo.InvariantCulture, $"{s.Step},{s.Epoch},{s.Batch},{s.Loss:R},{s.Accuracy:R},{s.LearningRate:R}\n");
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
        if (!_started && !_rewrite) _pending.Insert(0, Header + "\n");
        _member.SetLength(0);
        using (var gzip = new GZipStream(_member, CompressionLevel.Optimal, leaveOpen: true))
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
    public static StepLog Resume(string path, int every, int fromEpoch, string? pending)
    {
        var log = new StepLog(path, every);
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
            if (reader.ReadLine() == Header)
            {
                any = true;
                for (string? line; (line = reader.ReadLine()) is not null;) Keep(line);
            }
        }
        foreach (var line in (pending ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries)) Keep(line);
        if (any || log._pending.Length > 0)
        {
            log._pending.Insert(0, Header + "\n");
            log._rewrite = true; // the kept lines and the resumed epochs' are written whole at the first write
        }
        return log;
    }

    /// <summary>The rows of a steps file (for tests and readers in this tool).</summary>
    public static IReadOnlyList<StepMetrics> Read(string path)
    {
        var rows = new List<StepMetrics>();
        using var reader = new StreamReader(new GZipStream(BoundedFile.KindOf(path) == BoundedFile.Kind.Regular
            ? System.IO.File.OpenRead(path) : throw new FileNotFoundException($"{path}: no such file", path), CompressionMode.Decompress));
        if (reader.ReadLine() != Header) throw new InvalidDataException($"{path}: not a steps record");
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            var c = line.Split(',');
            var inv = CultureInfo.InvariantCulture;
            rows.Add(new StepMetrics(long.Parse(c[0], inv), int.Parse(c[1], inv), int.Parse(c[2], inv), 0,
                double.Parse(c[3], NumberStyles.Float, inv), double.Parse(c[4], NumberStyles.Float, inv), double.Parse(c[5], NumberStyles.Float, inv)));
        }
        return rows;
    }
}
