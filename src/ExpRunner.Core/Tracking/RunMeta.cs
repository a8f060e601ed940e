using System.Text.Json;
using System.Text.Json.Nodes;

namespace ExpRunner.Tracking;

/// <summary>
/// What a person says about a run, kept beside it in meta.json: a label (distinct from the experiment's name), tags
/// (key=value) and a note (Markdown). Written atomically under a lock of its own (<c>.meta.lock</c>), so a `tag` while
/// the run trains, or two at once, lose nothing; the trainer never writes it.
/// </summary>
public sealed record RunMeta(string? Label, IReadOnlyDictionary<string, string> Tags, string? Note)
{
    public const string File = "meta.json";
    private const string LockFile = ".meta.lock";
    public static readonly RunMeta Empty = new(null, new Dictionary<string, string>(), null);

    /// <summary>The parameter keys the label and tags are read under (compare, list, filters: attributes.label, tags.KEY).</summary>
    public const string LabelKey = "label", TagPrefix = "tags.";

    /// <summary>A tag key: letters, digits, '_', '-', '.', '/', at most 250 characters (MLflow's limit).</summary>
    public static bool ValidKey(string key) => key.Length is > 0 and <= 250 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ' ');

    public static RunMeta Read(RunFolder folder)
    {
        string path = folder.PathOf(File);
        if (!System.IO.File.Exists(path)) return Empty;
        JsonNode? node;
        try { node = JsonNode.Parse(IO.BoundedFile.ReadText(path, 4 << 20)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        if (node is not JsonObject o) throw new InvalidDataException($"{path}: not a JSON object");
        var tags = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (o["tags"] is JsonObject t)
            foreach (var (k, v) in t)
                if (v is JsonValue value && value.TryGetValue(out string? s)) tags[k] = s;
        return new RunMeta(o["label"]?.GetValue<string>(), tags, o["note"]?.GetValue<string>());
    }

    /// <summary>Changes meta.json under its lock (read, change, write atomically); the result.</summary>
    public static RunMeta Update(RunFolder folder, Func<RunMeta, RunMeta> change)
    {
        using var held = Lock(folder);
        var updated = change(Read(folder));
        var tags = new JsonObject();
        foreach (var (k, v) in updated.Tags.OrderBy(kv => kv.Key, StringComparer.Ordinal)) tags[k] = v;
        var o = new JsonObject { ["label"] = updated.Label, ["tags"] = tags, ["note"] = updated.Note };
        IO.Atomic.WriteText(folder.PathOf(File), o.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        return updated;
    }

    /// <summary>The folder's meta lock: an exclusively opened file, waited for up to 10 s.</summary>
    private static FileStream Lock(RunFolder folder)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try { return new FileStream(folder.PathOf(LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None); }
            catch (IOException) when (clock.Elapsed < TimeSpan.FromSeconds(10)) { Thread.Sleep(10); }
        }
    }

    /// <summary>The label and tags as parameters (label, tags.KEY): what compare, list, filters and groups read.</summary>
    public IEnumerable<KeyValuePair<string, string>> AsParams()
    {
        if (Label is { } label) yield return new(LabelKey, label);
        foreach (var (k, v) in Tags) yield return new(TagPrefix + k, v);
    }
}
