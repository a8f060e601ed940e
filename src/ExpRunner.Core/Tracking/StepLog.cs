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
/// costs a few hundred kilobytes. Each epoch's lines are one more gzip member appended to the file
/// (readers see one stream); a resume rewrites it whole with the epochs it keeps.
/// </summary>
public sealed class StepLog(string path, int every) : IStepObserver
{
    public const string File = "steps.csv.gz";
    public const string Header = "step,epoch,batch,loss,accuracy,learning_rate";

    private readonly MemoryStream _member = new();
    private readonly StringBuilder _pending = new();
    private bool _started, _rewrite;

    public void Step(in StepMetrics s)
    {
        if (s.Step % every != 0 && double.IsFinite(s.Loss)) return; // a diverging step is always kept
        _pending.Append(CultureInfo.InvariantCulture, $"{s.Step},{s.Epoch},{s.Batch},{s.Loss:R},{s.Accuracy:R},{s.LearningRate:R}\n");
    }

    /// <summary>
    /// The steps since the last flush become one more gzip member at the end of the file (one write of
    /// a few kilobytes); the first flush of a run, or of a resume, writes the file whole (atomically).
    /// </summary>
    public void Flush()
    {
        if (_pending.Length == 0 && _started) return;
        if (!_started && !_rewrite) _pending.Insert(0, Header + "\n");
        _member.SetLength(0);
        using (var gzip = new GZipStream(_member, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(Encoding.UTF8.GetBytes(_pending.ToString()));
        _pending.Clear();
        var bytes = _member.GetBuffer().AsSpan(0, (int)_member.Length);
        if (!_started || _rewrite)
        {
            var whole = bytes.ToArray();
            Atomic.Write(path, s => s.Write(whole), durable: false);
            (_started, _rewrite) = (true, false);
            return;
        }
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        file.Write(bytes);
    }

    /// <summary>
    /// Continues a record from a resumed run's file: the lines of epochs after <paramref name="fromEpoch"/>
    /// (trained again) are dropped, so the record ends as an uninterrupted run's does.
    /// </summary>
    public static StepLog Resume(string path, int every, int fromEpoch)
    {
        var log = new StepLog(path, every);
        if (!System.IO.File.Exists(path)) return log;
        using var reader = new StreamReader(new GZipStream(System.IO.File.OpenRead(path), CompressionMode.Decompress));
        if (reader.ReadLine() != Header) return log;
        log._pending.Append(Header).Append('\n');
        log._rewrite = true; // the kept lines and the resumed epochs' are written whole at the first flush
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            var cells = line.Split(',', 3);
            if (cells.Length == 3 && int.TryParse(cells[1], CultureInfo.InvariantCulture, out int epoch) && epoch <= fromEpoch)
                log._pending.Append(line).Append('\n');
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
