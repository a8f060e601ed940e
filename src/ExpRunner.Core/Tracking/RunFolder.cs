using System.Diagnostics;
using System.Globalization;
using System.Text;
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
        SummaryFile = "summary.json", WeightsFile = "model.safetensors", InitWeightsFile = "init.safetensors", LogFile = "log.txt", CurvesFile = "curves.svg";
    public const string MetricsHeader = "epoch,split,step,loss,accuracy,learning_rate,seconds,timestamp";

    public string Dir { get; }
    public string Id => Path.GetFileName(Dir);
    public string PathOf(string file) => Path.Combine(Dir, file);

    private RunFolder(string dir) { Dir = dir; }

    public static RunFolder Open(string dir) => new(Path.GetFullPath(dir));

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
    public void WriteRecord(RunRecord record) => Atomic.WriteText(PathOf(RecordFile), Json.Serialize(record));
    public void WriteSummary(RunSummary summary) => Atomic.WriteText(PathOf(SummaryFile), Json.Serialize(summary));

    public RunRecord? ReadRecord() => ReadJson<RunRecord>(RecordFile);
    public RunSummary? ReadSummary() => ReadJson<RunSummary>(SummaryFile);

    private T? ReadJson<T>(string file) where T : class
    {
        string path = PathOf(file);
        try { return File.Exists(path) ? Json.Deserialize<T>(File.ReadAllText(path)) : null; }
        catch (System.Text.Json.JsonException) { return null; }
    }

    public void StartMetrics() => Atomic.WriteText(PathOf(MetricsFile), MetricsHeader + "\n");

    public void AppendMetrics(EpochMetrics m)
    {
        var sb = new StringBuilder();
        foreach (var s in m.Splits)
            sb.Append(string.Create(CultureInfo.InvariantCulture,
                $"{m.Epoch},{s.Split},{m.Step},{s.Loss:R},{s.Accuracy:R},{m.LearningRate:R},{m.Seconds:0.######},{m.Timestamp.ToUnixTimeMilliseconds()}\n"));
        using var fs = new FileStream(PathOf(MetricsFile), FileMode.Append, FileAccess.Write, FileShare.Read);
        fs.Write(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    public IReadOnlyList<MetricRow> ReadMetrics()
    {
        string path = PathOf(MetricsFile);
        if (!File.Exists(path)) return [];
        var rows = new List<MetricRow>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var c = line.Split(',');
            if (c.Length != 8) continue; // a line cut short by a crash
            var inv = CultureInfo.InvariantCulture;
            if (int.TryParse(c[0], inv, out int epoch) && long.TryParse(c[2], inv, out long step) &&
                double.TryParse(c[3], NumberStyles.Float, inv, out double loss) && double.TryParse(c[4], NumberStyles.Float, inv, out double acc) &&
                double.TryParse(c[5], NumberStyles.Float, inv, out double lr) && double.TryParse(c[6], NumberStyles.Float, inv, out double sec) &&
                long.TryParse(c[7], inv, out long ms))
                rows.Add(new MetricRow(epoch, c[1], step, loss, acc, lr, sec, ms));
        }
        return rows;
    }

    /// <summary>The status to show: a RUNNING record whose process no longer exists is CRASHED.</summary>
    public static string EffectiveStatus(RunRecord r)
    {
        if (r.Status != RunStatus.Running) return r.Status;
        if (!string.Equals(r.Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase)) return r.Status;
        try
        {
            using var p = Process.GetProcessById(r.Pid);
            if (p.HasExited) return RunStatus.Crashed;
            if (r.ProcessStart is { } started && Math.Abs((p.StartTime.ToUniversalTime() - started.UtcDateTime).TotalSeconds) > 2)
                return RunStatus.Crashed; // the pid was reused by another process
            return RunStatus.Running;
        }
        catch (ArgumentException) { return RunStatus.Crashed; }
        catch (InvalidOperationException) { return RunStatus.Crashed; }
    }
}
