using System.ComponentModel;
using System.Globalization;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class TagSettings : RunsSettings
{
    [CommandArgument(0, "<run>"), Description("A run folder, or a run id (or unique prefix, or its tail).")]
    public string Run { get; init; } = "";

    [CommandArgument(1, "[key=value]"), Description("Tags to set (repeatable): key=value.")]
    public string[] Tags { get; init; } = [];

    [CommandOption("--remove <KEY>"), Description("A tag to remove (repeatable).")]
    public string[] Remove { get; init; } = [];
}

/// <summary>`exprunner tag RUN key=value … [--remove KEY]`: a run's tags, in its meta.json.</summary>
public sealed class TagCommand(CliContext cli) : Command<TagSettings>
{
    public override int Execute(CommandContext context, TagSettings settings, CancellationToken cancellation)
    {
        var tags = Organize.ParseTags(settings.Tags, "tag");
        foreach (var k in settings.Remove)
            if (!RunMeta.ValidKey(k)) throw new InputException($"--remove {k}: not a tag key (letters, digits, '_', '-', '.', '/', space; at most 250)");
        if (tags.Count == 0 && settings.Remove.Length == 0) throw new InputException("say what to tag: key=value (repeatable), or --remove KEY");
        var folder = RunLocator.Resolve(settings.Run, cli.RunsRoot(settings.Runs));
        var missing = settings.Remove.Where(k => !RunMeta.Read(folder).Tags.ContainsKey(k)).ToList();
        if (missing.Count > 0) throw new InputException($"--remove {missing[0]}: run {folder.Id} has no tag '{missing[0]}'{Config.DidYouMean.Suggest(missing[0], RunMeta.Read(folder).Tags.Keys)}");
        var meta = RunMeta.Update(folder, m =>
        {
            var t = new Dictionary<string, string>(m.Tags);
            foreach (var k in settings.Remove) t.Remove(k);
            foreach (var (k, v) in tags) t[k] = v;
            return m with { Tags = t };
        });
        cli.Line($"{folder.Id}: " + (meta.Tags.Count == 0 ? "no tags" : string.Join(" ", meta.Tags.Select(kv => $"{kv.Key}={kv.Value}"))));
        return ExitCodes.Ok;
    }
}

public sealed class LabelSettings : RunsSettings
{
    [CommandArgument(0, "<run>"), Description("A run folder, or a run id (or unique prefix, or its tail).")]
    public string Run { get; init; } = "";

    [CommandArgument(1, "[label]"), Description("The run's label (distinct from its experiment's name); none with --clear.")]
    public string? Label { get; init; }

    [CommandOption("--clear"), Description("Remove the label.")]
    public bool Clear { get; init; }
}

/// <summary>`exprunner label RUN "text"`: a run's label.</summary>
public sealed class LabelCommand(CliContext cli) : Command<LabelSettings>
{
    public override int Execute(CommandContext context, LabelSettings settings, CancellationToken cancellation)
    {
        if (settings.Clear == (settings.Label is not null)) throw new InputException("give a label, or --clear (not both)");
        string? label = settings.Label is { } l ? Organize.CheckLabel(l, "label") : null;
        var folder = RunLocator.Resolve(settings.Run, cli.RunsRoot(settings.Runs));
        RunMeta.Update(folder, m => m with { Label = label });
        cli.Line($"{folder.Id}: " + (label is null ? "no label" : $"label \"{label}\""));
        return ExitCodes.Ok;
    }
}

public sealed class NoteSettings : RunsSettings
{
    [CommandArgument(0, "<run>"), Description("A run folder, or a run id (or unique prefix, or its tail).")]
    public string Run { get; init; } = "";

    [CommandArgument(1, "[text]"), Description("The note (Markdown); without it and without --edit, the note is shown.")]
    public string? Text { get; init; }

    [CommandOption("--edit"), Description("Write the note in $EDITOR (else $VISUAL, else vi).")]
    public bool Edit { get; init; }

    [CommandOption("--clear"), Description("Remove the note.")]
    public bool Clear { get; init; }
}

/// <summary>`exprunner note RUN "text" | --edit | --clear`: a run's note (Markdown), or the note shown.</summary>
public sealed class NoteCommand(CliContext cli) : Command<NoteSettings>
{
    public override int Execute(CommandContext context, NoteSettings settings, CancellationToken cancellation)
    {
        if ((settings.Text is not null ? 1 : 0) + (settings.Edit ? 1 : 0) + (settings.Clear ? 1 : 0) > 1)
            throw new InputException("give the note's text, --edit or --clear: one of them");
        var folder = RunLocator.Resolve(settings.Run, cli.RunsRoot(settings.Runs));
        if (settings.Text is null && !settings.Edit && !settings.Clear)
        {
            cli.Line(RunMeta.Read(folder).Note ?? $"(run {folder.Id} has no note)");
            return ExitCodes.Ok;
        }
        string? text = settings.Clear ? null : settings.Text ?? EditText(RunMeta.Read(folder).Note ?? "");
        if (text is not null && text.Length > 64 << 10) throw new InputException($"the note is {text.Length:N0} characters: at most 65,536");
        RunMeta.Update(folder, m => m with { Note = string.IsNullOrWhiteSpace(text) ? null : text });
        cli.Line($"{folder.Id}: " + (string.IsNullOrWhiteSpace(text) ? "no note" : $"note of {text.Length:N0} characters"));
        return ExitCodes.Ok;
    }

    private string EditText(string current)
    {
        string editor = cli.Env("EDITOR") ?? cli.Env("VISUAL") ?? "vi";
        string file = Path.Combine(Path.GetTempPath(), $"exprunner-note-{Guid.NewGuid():N}.md");
        try
        {
            File.WriteAllText(file, current);
            var parts = editor.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var psi = new System.Diagnostics.ProcessStartInfo(parts[0]) { UseShellExecute = false };
            foreach (var a in parts.Skip(1)) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(file);
            using var p = System.Diagnostics.Process.Start(psi) ?? throw new InputException($"$EDITOR {editor}: could not be started");
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InputException($"$EDITOR {editor} exited with {p.ExitCode}: the note is unchanged");
            return File.ReadAllText(file);
        }
        catch (System.ComponentModel.Win32Exception e) { throw new InputException($"$EDITOR {editor}: {e.Message}"); }
        finally { File.Delete(file); }
    }
}

public sealed class RmSettings : RunsSettings
{
    [CommandArgument(0, "[run]"), Description("Runs to move to the trash (folders, ids, prefixes or tails).")]
    public string[] Runs_ { get; init; } = [];

    [CommandOption("--sweep <ID>"), Description("Every run of this sweep (or latest).")]
    public string? Sweep { get; init; }

    [CommandOption("--filter <EXPR>"), Description("Every run the filter matches (compare's language).")]
    public string? Filter { get; init; }

    [CommandOption("-y|--yes"), Description("Do not ask (for scripts); without it, the runs are listed and confirmed first.")]
    public bool Yes { get; init; }
}

/// <summary>`exprunner rm`: runs moved to the trash inside the runs directory (restore brings them back).</summary>
public sealed class RmCommand(CliContext cli) : Command<RmSettings>
{
    public override int Execute(CommandContext context, RmSettings settings, CancellationToken cancellation)
    {
        string root = cli.RunsRoot(settings.Runs);
        var folders = new List<RunFolder>();
        foreach (var r in settings.Runs_) folders.Add(RunLocator.Resolve(r, root));
        if (settings.Sweep is { } sweep)
        {
            var store = new Sweeps.SweepStore(root);
            var record = store.Read(sweep);
            folders.AddRange(record.Trials.Select(store.RunDirOf).OfType<string>().Where(Directory.Exists).Select(RunFolder.Open));
        }
        if (settings.Filter is { } text)
        {
            var filter = Compare.Filter.Parse(text);
            var rows = Common.IndexedRuns(cli, root, strict: false);
            filter.CheckKeys(rows);
            folders.AddRange(rows.Where(filter.Matches).Select(r => RunFolder.Open(r.Dir)));
        }
        folders = [.. folders.DistinctBy(f => Path.GetFullPath(f.Dir))];
        if (settings.Runs_.Length == 0 && settings.Sweep is null && settings.Filter is null) throw new InputException("say which runs: RUN…, --sweep ID or --filter EXPR");
        if (folders.Count == 0) { cli.Note("no run matches: nothing moved"); return ExitCodes.Ok; }
        // Bulk deletions are confirmed: the list, then a question (or --yes).
        if (!settings.Yes && (settings.Sweep is not null || settings.Filter is not null || folders.Count > 1))
        {
            foreach (var f in folders.Take(20)) cli.Note($"  {f.Id}  {Path.GetFileName(Path.GetDirectoryName(f.Dir))}");
            if (folders.Count > 20) cli.Note($"  … and {folders.Count - 20} more");
            if (!cli.Interactive) throw new InputException($"{folders.Count} runs would go to the trash: add --yes to move them without asking");
            if (!cli.Error.Confirm($"Move these {folders.Count} runs to the trash?", defaultValue: false)) { cli.Note("nothing moved"); return ExitCodes.Ok; }
        }
        int moved = 0;
        foreach (var f in folders)
        {
            var trashed = Organize.Trash(root, f, cli.Clock.GetUtcNow());
            cli.Line($"{f.Id}: moved to the trash ({Path.GetRelativePath(root, trashed)})");
            moved++;
        }
        cli.Note($"{moved} run{(moved == 1 ? "" : "s")} in the trash; exprunner restore RUN brings one back, exprunner trash lists them");
        return ExitCodes.Ok;
    }
}

public sealed class TrashSettings : RunsSettings
{
    [CommandArgument(0, "[action]"), Description("empty: delete what is in the trash for good (with --older-than, only what went there before).")]
    public string? Action { get; init; }

    [CommandOption("--older-than <AGE>"), Description("With empty: only runs trashed longer ago than this (30d, 12h, 90m).")]
    public string? OlderThan { get; init; }

    [CommandOption("-y|--yes"), Description("With empty: do not ask.")]
    public bool Yes { get; init; }
}

/// <summary>`exprunner trash [empty [--older-than 30d]]`: what is in the trash, or emptying it.</summary>
public sealed class TrashCommand(CliContext cli) : Command<TrashSettings>
{
    public override int Execute(CommandContext context, TrashSettings settings, CancellationToken cancellation)
    {
        string root = cli.RunsRoot(settings.Runs);
        if (settings.Action is not (null or "empty")) throw new InputException($"trash {settings.Action}: 'trash' lists, 'trash empty' deletes{Config.DidYouMean.Suggest(settings.Action, ["empty"])}");
        if (settings.OlderThan is not null && settings.Action is null) throw new InputException("--older-than goes with: exprunner trash empty");
        var all = Organize.Trashed(root).ToList();
        if (settings.Action is null)
        {
            if (all.Count == 0) { cli.Out.MarkupLine("The trash is empty."); return ExitCodes.Ok; }
            var t = new Table().Border(TableBorder.Rounded).AddColumn("run").AddColumn("experiment").AddColumn("status").AddColumn("trashed (UTC)");
            foreach (var x in all) t.AddRow(Markup.Escape(x.Folder.Id), Markup.Escape(x.Experiment), Common.StatusMarkup(x.Status), x.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Common.Inv));
            cli.Out.Write(t);
            return ExitCodes.Ok;
        }
        TimeSpan age = settings.OlderThan is { } o ? Organize.ParseAge(o) : TimeSpan.Zero;
        var now = cli.Clock.GetUtcNow();
        var doomed = all.Where(x => now - x.At >= age).ToList();
        if (doomed.Count == 0) { cli.Note("nothing in the trash is that old: nothing deleted"); return ExitCodes.Ok; }
        if (!settings.Yes)
        {
            if (!cli.Interactive) throw new InputException($"{doomed.Count} runs would be deleted for good: add --yes to delete them without asking");
            if (!cli.Error.Confirm($"Delete {doomed.Count} runs from the trash for good?", defaultValue: false)) { cli.Note("nothing deleted"); return ExitCodes.Ok; }
        }
        foreach (var x in doomed) Directory.Delete(x.Folder.Dir, recursive: true);
        cli.Line($"{doomed.Count} run{(doomed.Count == 1 ? "" : "s")} deleted for good");
        return ExitCodes.Ok;
    }
}

public sealed class RestoreSettings : RunsSettings
{
    [CommandArgument(0, "<run>"), Description("Runs in the trash to bring back (ids, prefixes or tails).")]
    public string[] Runs_ { get; init; } = [];
}

/// <summary>`exprunner restore RUN…`: runs back from the trash where they were.</summary>
public sealed class RestoreCommand(CliContext cli) : Command<RestoreSettings>
{
    public override int Execute(CommandContext context, RestoreSettings settings, CancellationToken cancellation)
    {
        string root = cli.RunsRoot(settings.Runs);
        var trashed = Organize.Trashed(root).ToList();
        foreach (var reference in settings.Runs_)
        {
            var matches = RunLocator.Matching(reference, trashed, x => x.Folder.Id);
            if (matches.Count != 1)
                throw new InputException(matches.Count == 0 ? $"no run '{reference}' in the trash{Config.DidYouMean.Suggest(reference, trashed.Select(x => x.Folder.Id))} (exprunner trash lists it)"
                    : $"'{reference}' matches {matches.Count} runs in the trash: {string.Join(", ", matches.Take(5).Select(m => m.Folder.Id))}");
            string back = Organize.Restore(root, matches[0]);
            cli.Line($"{matches[0].Folder.Id}: restored to {back}");
        }
        return ExitCodes.Ok;
    }
}

/// <summary>What the organizing commands share: tags and labels checked, the trash.</summary>
internal static class Organize
{
    public const string TrashDir = ".trash";
    private const string Marker = ".trashed.json";

    public static Dictionary<string, string> ParseTags(IEnumerable<string> items, string what)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            int eq = item.IndexOf('=');
            if (eq <= 0) throw new InputException($"{what} '{item}': key=value (e.g. stage=baseline)");
            string key = item[..eq].Trim(), value = item[(eq + 1)..];
            if (!RunMeta.ValidKey(key)) throw new InputException($"{what} '{item}': the key may hold letters, digits, '_', '-', '.', '/' and spaces (at most 250)");
            if (value.Length > 5000) throw new InputException($"{what} '{key}': the value is {value.Length:N0} characters, at most 5,000");
            tags[key] = value;
        }
        return tags;
    }

    public static string CheckLabel(string label, string what)
    {
        label = label.Trim();
        if (label.Length is 0 or > 250 || label.Any(char.IsControl)) throw new InputException($"{what} \"{label}\": 1 to 250 characters, one line");
        return label;
    }

    /// <summary>Moves a run folder into the trash (runs/.trash/EXPERIMENT/ID); a run being trained is refused.</summary>
    public static string Trash(string root, RunFolder folder, DateTimeOffset now)
    {
        var record = folder.TryReadRecord();
        // The trainer holds the folder's claim for as long as it trains: taking it proves nobody does.
        using (RunLock.Claim(folder.Dir, folder.Id))
        {
            if (record is not null && RunFolder.EffectiveStatus(record) == RunStatus.Running)
                throw new InputException($"run {folder.Id} is running (pid {record.Pid} on {record.Host}): stop it first");
            string experiment = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(folder.Dir)))!;
            string target = Path.Combine(root, TrashDir, experiment, folder.Id);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (Directory.Exists(target)) throw new InputException($"{target} exists already: empty the trash of it first (exprunner trash empty)");
            File.WriteAllText(Path.Combine(folder.Dir, Marker), new System.Text.Json.Nodes.JsonObject
                { ["trashed"] = now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), ["from"] = experiment }.ToJsonString() + "\n");
            Directory.Move(folder.Dir, target);
            return target;
        }
    }

    public sealed record TrashedRun(RunFolder Folder, string Experiment, string Status, DateTimeOffset At);

    public static IEnumerable<TrashedRun> Trashed(string root)
    {
        string trash = Path.Combine(root, TrashDir);
        if (!Directory.Exists(trash)) yield break;
        foreach (var dir in Directory.EnumerateDirectories(trash).SelectMany(Directory.EnumerateDirectories).Order(StringComparer.Ordinal))
        {
            var folder = RunFolder.Open(dir);
            var record = folder.TryReadRecord();
            var at = new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(dir, Marker)), TimeSpan.Zero);
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, Marker)));
                at = DateTimeOffset.Parse(doc.RootElement.GetProperty("trashed").GetString()!, CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException or FormatException or KeyNotFoundException or InvalidOperationException) { }
            yield return new TrashedRun(folder, Path.GetFileName(Path.GetDirectoryName(dir))!, record is null ? "?" : RunFolder.EffectiveStatus(record), at);
        }
    }

    public static string Restore(string root, TrashedRun x)
    {
        string target = Path.Combine(root, x.Experiment, x.Folder.Id);
        if (Directory.Exists(target)) throw new InputException($"{target} exists: a run of that id is there already");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Directory.Move(x.Folder.Dir, target);
        File.Delete(Path.Combine(target, Marker));
        return target;
    }

    /// <summary>An age: 30d, 12h, 90m, 45s.</summary>
    public static TimeSpan ParseAge(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text.Trim(), @"^(\d+)\s*([dhms])$");
        if (!m.Success) throw new InputException($"--older-than {text}: a number and a unit, e.g. 30d, 12h, 90m or 45s");
        double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "d" => TimeSpan.FromDays(n), "h" => TimeSpan.FromHours(n), "m" => TimeSpan.FromMinutes(n), _ => TimeSpan.FromSeconds(n) };
    }
}
