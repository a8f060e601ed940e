using System.Globalization;
using System.Text;
using ExpRunner.IO;
using ExpRunner.Training;

namespace ExpRunner.Tracking;

/// <summary>
/// One run's folder, runs/&lt;experiment&gt;/&lt;run-id&gt;/ — the source of truth for everything
/// about a run. JSON and YAML files are replaced atomically; metrics.csv grows a line per split
/// and epoch, flushed as written.
/// </summary>
public sealed class RunFolder
{
    public const string ConfigFile = "config.yaml", RecordFile = "run.json", MetricsFile = "metrics.csv",
        SummaryFile = "summary.json", SystemFile = "system.csv", WeightsFile = "model.safetensors", InitWeightsFile = "init.safetensors", LogFile = "log.txt", CurvesFile = "curves.svg",
        StepCurvesFile = "steps.svg",
        CheckpointFile = "checkpoint.safetensors";
    public const string MetricsHeader = "epoch,split,step,loss,accuracy,learning_rate,seconds,timestamp";

    public string Dir { get; }
    public string Id => Path.GetFileName(Dir);
    public string PathOf(string file) => Path.Combine(Dir, file);

    private RunFolder(string dir) { Dir = dir; }

    public static RunFolder Open(string dir) => new(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));

    /// <summary>
    /// Every run folder (a folder holding run.json) in or under a directory: a run folder itself, a
    /// runs/EXPERIMENT folder, or a whole runs folder. Nothing when the directory does not exist.
    /// </summary>
    public static IEnumerable<RunFolder> FindAll(string dir)
    {
        if (!Directory.Exists(dir)) yield break;
        if (File.Exists(Path.Combine(dir, RecordFile))) { yield return Open(dir); yield break; }
        foreach (var child in Directory.EnumerateDirectories(dir))
        {
            if (File.Exists(Path.Combine(child, RecordFile))) { yield return Open(child); continue; }
            foreach (var grandchild in Directory.EnumerateDirectories(child))
                if (File.Exists(Path.Combine(grandchild, RecordFile))) yield return Open(grandchild);
        }
    }

    /// <summary>
    /// A new, empty run folder with a fresh id (UTC time + random suffix). The folder is claimed
    /// by creating run.json exclusively, so concurrent processes can never share one.
    /// </summary>
    public static RunFolder Create(string runsRoot, string experiment, DateTimeOffset now)
    {
        string parent = Path.Combine(runsRoot, Sanitize(experiment));
        Directory.CreateDirectory(parent);
        for (int attempt = 0; ; attempt++)
        {
            string id = $"{now.UtcDateTime:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
            string dir = Path.Combine(parent, id);
            if (Directory.Exists(dir)) continue;
            Directory.CreateDirectory(dir);
            try
            {
                using (new FileStream(Path.Combine(dir, RecordFile), FileMode.CreateNew)) { }
                return new RunFolder(Path.GetFullPath(dir));
            }
            catch (IOException) when (attempt < 100) { }
        }
    }

    public static string Sanitize(string name)
    {
        var sb = new StringBuilder();
        foreach (char c in name) sb.Append(char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        return sb.Length == 0 ? "experiment" : sb.ToString();
    }

    public void WriteConfig(string yaml) => Atomic.WriteText(PathOf(ConfigFile), yaml);
    /// <summary>
    /// run.json, atomically; when that cannot be done (a full disk, a folder made read-only) it is
    /// overwritten in place, so the record still says how the run ended if anything can be written.
    /// </summary>
    public void WriteRecord(RunRecord record)
    {
        string text = Json.Serialize(record);
        try { Atomic.WriteText(PathOf(RecordFile), text); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && File.Exists(PathOf(RecordFile)))
        {
            using var fs = new FileStream(PathOf(RecordFile), FileMode.Open, FileAccess.Write, FileShare.Read);
            var bytes = Encoding.UTF8.GetBytes(text);
            fs.Write(bytes);
            fs.SetLength(bytes.Length);
            // What reads run folders by their modification time (the run index) must see the change.
            try { Directory.SetLastWriteTimeUtc(Dir, DateTime.UtcNow); } catch (Exception t) when (t is IOException or UnauthorizedAccessException) { }
        }
    }
    public void WriteSummary(RunSummary summary) => Atomic.WriteText(PathOf(SummaryFile), Json.Serialize(summary));

    /// <summary>A JSON file of a run folder is read only up to this size.</summary>
    public const long MaxJsonBytes = 16 << 20;

    /// <summary>
    /// run.json; null when there is none or the folder is being created (<see cref="Create"/> claims it
    /// with an empty run.json, written a moment later, before config.yaml); <see cref="InvalidDataException"/>
    /// (naming the file) when it is broken — an empty one beside a config.yaml, or empty for a minute, included.
    /// </summary>
    public RunRecord? ReadRecord()
    {
        var info = new FileInfo(PathOf(RecordFile));
        if (info.Exists && info.Length == 0 && DateTime.UtcNow - info.LastWriteTimeUtc < TimeSpan.FromMinutes(1) && !File.Exists(PathOf(ConfigFile)))
            return null; // claimed a moment ago: run.json is written before anything else
        if (info.Exists && info.Length == 0) throw new InvalidDataException($"{PathOf(RecordFile)}: empty");
        return ReadJson<RunRecord>(RecordFile);
    }
    public RunSummary? ReadSummary() => ReadJson<RunSummary>(SummaryFile);

    /// <summary>run.json, or null when it is missing or broken (for code that has a fallback).</summary>
    public RunRecord? TryReadRecord()
    {
        try { return ReadRecord(); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { return null; }
    }

    private T? ReadJson<T>(string file) where T : class, IJsonRecord<T>
    {
        string path = PathOf(file);
        if (BoundedFile.KindOf(path) == BoundedFile.Kind.Missing) return null;
        try { return Json.Deserialize<T>(BoundedFile.ReadText(path, MaxJsonBytes)) ?? throw new InvalidDataException($"{path}: empty"); }
        catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
    }

    public void StartMetrics() => Atomic.WriteText(PathOf(MetricsFile), MetricsHeader + "\n");

    /// <summary>A row of metrics.csv as written.</summary>
    public static string MetricsLine(MetricRow r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Epoch},{r.Split},{r.Step},{r.Loss:R},{r.Accuracy:R},{r.LearningRate:R},{r.Seconds:0.######},{r.TimestampMs}\n");

    public void AppendMetrics(EpochMetrics m)
    {
        var sb = new StringBuilder();
        foreach (var r in MetricRow.From(m)) sb.Append(MetricsLine(r));
        using var fs = new FileStream(PathOf(MetricsFile), FileMode.Append, FileAccess.Write, FileShare.Read);
        fs.Write(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    public IReadOnlyList<MetricRow> ReadMetrics()
    {
        string path = PathOf(MetricsFile);
        if (!File.Exists(path)) return [];
        return File.ReadLines(path).Skip(1).Select(ParseMetrics).OfType<MetricRow>().ToList();
    }

    /// <summary>The rows of the last epoch written so far, reading only the file's tail (for watching a run that trains).</summary>
    public IReadOnlyList<MetricRow> ReadLastEpoch()
    {
        string path = PathOf(MetricsFile);
        if (BoundedFile.KindOf(path) != BoundedFile.Kind.Regular) return [];
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        fs.Position = Math.Max(0, fs.Length - 4096);
        var rows = new StreamReader(fs).ReadToEnd().Split('\n').Select(ParseMetrics).OfType<MetricRow>().ToList();
        return rows.Count == 0 ? [] : rows.Where(r => r.Epoch == rows[^1].Epoch).ToList();
    }

    /// <summary>One line of metrics.csv; null for the header or a line cut short by a crash.</summary>
    private static MetricRow? ParseMetrics(string line)
    {
        var c = line.Split(',');
        if (c.Length != 8) return null;
        var inv = CultureInfo.InvariantCulture;
        return int.TryParse(c[0], inv, out int epoch) && long.TryParse(c[2], inv, out long step) &&
            double.TryParse(c[3], NumberStyles.Float, inv, out double loss) && double.TryParse(c[4], NumberStyles.Float, inv, out double acc) &&
            double.TryParse(c[5], NumberStyles.Float, inv, out double lr) && double.TryParse(c[6], NumberStyles.Float, inv, out double sec) &&
            long.TryParse(c[7], inv, out long ms)
            ? new MetricRow(epoch, c[1], step, loss, acc, lr, sec, ms) : null;
    }

    /// <summary>Appends a system sample to system.csv (its header names the metrics, fixed by <see cref="SystemMonitor.Keys"/>).</summary>
    public void AppendSystem(SystemSample sample)
    {
        string path = PathOf(SystemFile);
        var sb = new StringBuilder();
        if (!File.Exists(path)) sb.Append("step,timestamp,").AppendJoin(',', SystemMonitor.Keys).Append('\n');
        sb.Append(string.Create(CultureInfo.InvariantCulture, $"{sample.Step},{sample.At.ToUnixTimeMilliseconds()}"));
        foreach (var key in SystemMonitor.Keys)
            sb.Append(',').Append(sample.Values.TryGetValue(key, out double v) ? v.ToString("R", CultureInfo.InvariantCulture) : "");
        sb.Append('\n');
        using var fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        fs.Write(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    public IReadOnlyList<SystemSample> ReadSystem()
    {
        string path = PathOf(SystemFile);
        if (BoundedFile.KindOf(path) != BoundedFile.Kind.Regular) return [];
        var lines = File.ReadLines(path).ToList();
        if (lines.Count == 0) return [];
        var keys = lines[0].Split(',').Skip(2).ToArray();
        var samples = new List<SystemSample>();
        foreach (var line in lines.Skip(1))
        {
            var c = line.Split(',');
            if (c.Length != keys.Length + 2 || !long.TryParse(c[0], CultureInfo.InvariantCulture, out long step) || !long.TryParse(c[1], CultureInfo.InvariantCulture, out long ms)) continue;
            var values = new Dictionary<string, double>();
            for (int i = 0; i < keys.Length; i++)
                if (double.TryParse(c[i + 2], NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) values[keys[i]] = v;
            samples.Add(new SystemSample(step, DateTimeOffset.FromUnixTimeMilliseconds(ms), values));
        }
        return samples;
    }

    /// <summary>The status to show: a RUNNING record whose process no longer exists is CRASHED.</summary>
    public static string EffectiveStatus(RunRecord r) =>
        r.Status == RunStatus.Running && new ProcessRef(r.Host, r.Pid, r.ProcessStart).IsAlive() == false ? RunStatus.Crashed : r.Status;
}
