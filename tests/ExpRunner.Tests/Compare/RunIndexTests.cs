using System.Globalization;
using ExpRunner.Compare;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Compare;

public class RunIndexTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A finished run folder as the trainer leaves it (record and summary).</summary>
    internal static RunFolder MakeRun(string root, string experiment, int i, string status = RunStatus.Finished, bool summary = true)
    {
        var folder = RunFolder.Create(root, experiment, T0.AddSeconds(i));
        folder.WriteRecord(new RunRecord { Id = Path.GetFileName(folder.Dir), Experiment = experiment, Status = status, Started = T0.AddSeconds(i), Host = Environment.MachineName, Pid = 1 });
        if (summary)
            folder.WriteSummary(new RunSummary
            {
                Id = Path.GetFileName(folder.Dir), Experiment = experiment, Status = status, EpochsRun = 3, DurationSeconds = 1.5, BestEpoch = 2,
                Final = new Dictionary<string, double> { ["test_accuracy"] = 0.5 + i / 1000.0, ["test_loss"] = 1.0 / (i + 1) },
                Params = new Dictionary<string, string> { ["training.learning_rate"] = (0.1 * (i % 3 + 1)).ToString(CultureInfo.InvariantCulture), ["seed"] = i.ToString(CultureInfo.InvariantCulture), ["name"] = "" },
            });
        return folder;
    }

    private static string Show(RunRow r) =>
        $"{r.Id} {r.Experiment} {r.Status} {r.Superseded} {string.Join(",", r.Params.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"))} " +
        string.Join(",", r.Metrics.OrderBy(m => m.Key).Select(m => $"{m.Key}={m.Value.ToString("R", CultureInfo.InvariantCulture)}"));

    private static List<string> FromFolders(string root) =>
        RunFolder.FindAll(root).Select(RunRow.Load).OfType<RunRow>().Select(Show).Order(StringComparer.Ordinal).ToList();

    private static List<string> FromIndex(string root, string cache, out IndexRefresh refresh)
    {
        using var index = RunIndex.Open(root, cache);
        var (rows, r) = index.Load();
        refresh = r;
        return rows.Select(Show).Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void The_index_answers_what_the_run_folders_say_and_follows_them_as_they_change()
    {
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        var runs = Enumerable.Range(0, 30).Select(i => MakeRun(root, i % 2 == 0 ? "a" : "b", i)).ToList();
        MakeRun(root, "a", 99, RunStatus.Running, summary: false);

        Assert.Equal(FromFolders(root), FromIndex(root, cache, out var first));
        Assert.Equal((31, 31, 0), (first.Runs, first.Added, first.Removed));

        // A run finishes with other values, one is deleted, one is added.
        runs[3].WriteSummary(runs[3].ReadSummary()! with { Status = RunStatus.Diverged, Final = new Dictionary<string, double> { ["test_loss"] = double.NaN } });
        runs[3].WriteRecord(runs[3].ReadRecord()! with { Status = RunStatus.Diverged });
        Directory.Delete(runs[4].Dir, recursive: true);
        MakeRun(root, "c", 200);
        var expected = FromFolders(root);
        Assert.Equal(expected, FromIndex(root, cache, out var second));
        Assert.Equal(1, second.Removed);
        Assert.Contains(expected, s => s.Contains("DIVERGED") && s.Contains("test_loss=NaN"));

        // Deleting the index loses nothing: it is rebuilt from the folders.
        foreach (var f in Directory.GetFiles(cache)) File.Delete(f);
        Assert.Equal(expected, FromIndex(root, cache, out var rebuilt));
        Assert.Equal(31, rebuilt.Added);
    }

    [Fact]
    public void A_change_the_folder_time_does_not_show_is_still_seen_when_the_folder_was_indexed_as_it_changed()
    {
        // Filesystems keep times to a few milliseconds: a folder read within 2 s of its last change is read again next time.
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        var run = MakeRun(root, "a", 1);
        var time = Directory.GetLastWriteTimeUtc(run.Dir);
        FromIndex(root, cache, out _);
        run.WriteSummary(run.ReadSummary()! with { Status = RunStatus.Failed });
        run.WriteRecord(run.ReadRecord()! with { Status = RunStatus.Failed });
        Directory.SetLastWriteTimeUtc(run.Dir, time);
        Assert.Equal(FromFolders(root), FromIndex(root, cache, out var refresh));
        Assert.Contains(FromFolders(root), s => s.Contains("FAILED"));
        Assert.Equal(1, refresh.Updated);
    }

    /// <summary>What reading the folders answers: the rows, and the problems of broken folders (as commands warn of them).</summary>
    private static (List<string> Rows, List<string> Broken) Folders(string root)
    {
        var rows = new List<string>();
        var broken = new List<string>();
        foreach (var f in RunFolder.FindAll(root))
            try { if (RunRow.Load(f) is { } r) rows.Add(Show(r)); }
            catch (InvalidDataException e) { broken.Add(e.Message); }
        return (rows.Order(StringComparer.Ordinal).ToList(), broken.Order(StringComparer.Ordinal).ToList());
    }

    private static (List<string> Rows, List<string> Broken) Indexed(string root, string cache)
    {
        var rows = FromIndex(root, cache, out var refresh);
        return (rows, refresh.Broken.Order(StringComparer.Ordinal).ToList());
    }

    private static void AssertSame(string root, string cache, string after)
    {
        var (rows, broken) = Folders(root);
        var (indexRows, indexBroken) = Indexed(root, cache);
        Assert.True(rows.SequenceEqual(indexRows), $"after {after}: rows differ\nfolders: {string.Join("\n", rows)}\nindex: {string.Join("\n", indexRows)}");
        Assert.True(broken.SequenceEqual(indexBroken), $"after {after}: warnings differ\nfolders: {string.Join("\n", broken)}\nindex: {string.Join("\n", indexBroken)}");
        // A second read (the index now warm) answers the same.
        var (warmRows, warmBroken) = Indexed(root, cache);
        Assert.Equal(rows, warmRows);
        Assert.Equal(broken, warmBroken);
    }

    /// <summary>Makes a file's and its folder's times look older than the index's two-second window, as an edit made a while ago would.</summary>
    private static void Age(string file)
    {
        var old = DateTime.UtcNow - TimeSpan.FromMinutes(5);
        if (File.Exists(file)) File.SetLastWriteTimeUtc(file, old);
        Directory.SetLastWriteTimeUtc(Path.GetDirectoryName(file)!, old);
    }

    [Fact]
    public void The_index_answers_exactly_what_the_folders_answer_after_every_kind_of_change_and_damage()
    {
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        var runs = Enumerable.Range(0, 8).Select(i => MakeRun(root, "a", i)).ToList();
        foreach (var r in runs) { Age(r.PathOf(RunFolder.RecordFile)); Age(r.PathOf(RunFolder.SummaryFile)); }
        AssertSame(root, cache, "indexing");
        Assert.Equal(8, Indexed(root, cache).Rows.Count);

        File.Delete(runs[0].PathOf(RunFolder.RecordFile));
        Age(runs[0].PathOf(RunFolder.RecordFile));
        AssertSame(root, cache, "deleting a run.json");

        // Overwritten in place: the folder's time does not move.
        var time = Directory.GetLastWriteTimeUtc(runs[1].Dir);
        File.WriteAllText(runs[1].PathOf(RunFolder.SummaryFile), "{ \"id\": ");
        Directory.SetLastWriteTimeUtc(runs[1].Dir, time);
        AssertSame(root, cache, "cutting a summary.json in place");
        Assert.Contains(Indexed(root, cache).Broken, b => b.Contains(runs[1].PathOf(RunFolder.SummaryFile)));

        File.WriteAllText(runs[2].PathOf(RunFolder.RecordFile), "");
        Age(runs[2].PathOf(RunFolder.RecordFile));
        AssertSame(root, cache, "emptying a run.json a while ago");
        Assert.Contains(Indexed(root, cache).Broken, b => b.Contains(runs[2].PathOf(RunFolder.RecordFile)));

        File.WriteAllText(runs[3].PathOf(RunFolder.RecordFile), "");
        AssertSame(root, cache, "emptying a run.json just now (a folder being created)");

        string text = File.ReadAllText(runs[4].PathOf(RunFolder.SummaryFile));
        File.WriteAllText(runs[4].PathOf(RunFolder.SummaryFile), text.Replace("\"test_accuracy\": 0.504", "\"test_accuracy\": 0.999"));
        Age(runs[4].PathOf(RunFolder.SummaryFile));
        AssertSame(root, cache, "editing a metric in place");
        Assert.Contains(Indexed(root, cache).Rows, r => r.Contains("test_accuracy=0.999"));

        File.Delete(runs[5].PathOf(RunFolder.SummaryFile));
        AssertSame(root, cache, "deleting a summary.json");

        Directory.Move(runs[6].Dir, Path.Combine(root, "b-" + runs[6].Id));
        Directory.Delete(runs[7].Dir, recursive: true);
        AssertSame(root, cache, "moving one folder and deleting another");

        runs[1].WriteSummary(new RunSummary { Id = runs[1].Id, Experiment = "a", Status = RunStatus.Finished, EpochsRun = 1 });
        AssertSame(root, cache, "repairing a summary");
        Assert.Equal(4, Indexed(root, cache).Rows.Count);
    }

    [Fact]
    public void A_broken_index_file_is_rebuilt_and_a_broken_run_folder_is_reported_not_stored()
    {
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        MakeRun(root, "a", 1);
        var bad = MakeRun(root, "a", 2);
        File.WriteAllText(Path.Combine(bad.Dir, RunFolder.SummaryFile), "{ not json");
        var before = FromIndex(root, cache, out var refresh);
        Assert.Single(before);
        Assert.Contains(refresh.Broken, b => b.Contains(RunFolder.SummaryFile));
        foreach (var f in Directory.GetFiles(cache, "*.db")) File.WriteAllText(f, "this is not a database, but a file someone overwrote");
        var warnings = new List<string>();
        var (rows, again) = RunIndex.Use(root, cache, index => index.Load(), warnings.Add);
        Assert.Equal(before, rows.Select(Show).Order(StringComparer.Ordinal).ToList());
        Assert.Single(again.Broken); // still broken, still said
        Assert.Contains("was damaged", Assert.Single(warnings));
        Assert.Equal(before, FromIndex(root, cache, out _)); // rebuilt: opened as it is
    }

    [Fact]
    public void A_file_overwritten_in_place_is_seen_within_a_round_of_checks_when_there_are_more_runs_than_one_use_checks()
    {
        // Above the budget of file checks a use, folders whose own time did not move have their files compared a slice per use.
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        var runs = Enumerable.Range(0, 12).Select(i => MakeRun(root, "a", i)).ToList();
        foreach (var r in runs) { Age(r.PathOf(RunFolder.RecordFile)); Age(r.PathOf(RunFolder.SummaryFile)); }
        Assert.Equal(12, FromIndex(root, cache, out _).Count);
        // Edited in place a while ago, and the folder's time put back as it was: only its files can tell.
        string summary = runs[5].PathOf(RunFolder.SummaryFile);
        var folderTime = Directory.GetLastWriteTimeUtc(runs[5].Dir);
        File.WriteAllText(summary, File.ReadAllText(summary).Replace("\"test_accuracy\": 0.505", "\"test_accuracy\": 0.999"));
        File.SetLastWriteTimeUtc(summary, DateTime.UtcNow - TimeSpan.FromMinutes(4));
        Directory.SetLastWriteTimeUtc(runs[5].Dir, folderTime);
        int uses = 0;
        bool seen = false;
        while (!seen && uses < 3) // 12 runs, 4 a use: three slices, each use the next
        {
            using var index = RunIndex.Open(root, cache);
            index.VerifyBudget = 4;
            seen = index.Load().Rows.Any(r => r.Metrics["test_accuracy"] == 0.999);
            uses++;
        }
        Assert.True(seen, "the edit was not seen within a round of slices");
        Assert.Equal(FromFolders(root), FromIndex(root, cache, out _));
    }

    [Fact]
    public void Runs_read_in_parts_on_several_connections_are_exactly_the_folders_runs()
    {
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        var runs = Enumerable.Range(0, 40).Select(i => MakeRun(root, i % 3 == 0 ? "b" : "a", i)).ToList();
        FromIndex(root, cache, out _);
        // Gaps and rows stored again (new row ids) across the parts.
        foreach (var r in runs.Where((_, i) => i % 7 == 0)) Directory.Delete(r.Dir, recursive: true);
        foreach (var r in runs.Where((_, i) => i % 5 == 1 && i % 7 != 0)) r.WriteSummary(r.ReadSummary()! with { Status = RunStatus.Diverged });
        MakeRun(root, "c", 100);
        using var index = RunIndex.Open(root, cache);
        (index.Parts, index.PartRows) = (3, 5);
        var (rows, _) = index.Load();
        Assert.Equal(FromFolders(root), rows.Select(Show).Order(StringComparer.Ordinal).ToList());
        var (listed, _) = index.Listing();
        Assert.Equal(rows.Select(r => r.Id).Reverse(), listed.Select(r => r.Id)); // newest first
        Assert.Equal(rows.Select(r => r.Metrics["test_accuracy"]).Reverse(), listed.Select(r => r.Metrics["test_accuracy"]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Groups_added_up_in_the_index_are_the_grouped_comparison_of_the_runs_rows(bool allAttempts)
    {
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        Directory.CreateDirectory(root);
        var rng = new Random(7);
        string[] statuses = [RunStatus.Finished, RunStatus.Finished, RunStatus.Diverged, RunStatus.Failed, RunStatus.Running];
        var rows = new List<(string, RunRow)>();
        for (int i = 0; i < 3000; i++)
        {
            var p = new Dictionary<string, string> { ["seed"] = i.ToString(CultureInfo.InvariantCulture), ["training.batch_size"] = "20" };
            // Some runs lack a grouped param, some have it empty, one set of keys has more; reductions mixed in a group.
            if (i % 13 != 0) p["training.learning_rate"] = i % 17 == 0 ? "" : new[] { "0.01", "0.1", "1.0" }[rng.Next(3)];
            p["training.gradient_reduction"] = rng.Next(2) == 0 ? "mean" : "sum";
            if (i % 5 == 0) p["tags.stage"] = "b";
            var m = new Dictionary<string, double> { ["test_accuracy"] = Math.Round(rng.NextDouble(), 3), ["epochs_run"] = rng.Next(1, 4) };
            if (i % 3 == 0) m["test_loss"] = i % 99 == 0 ? double.NaN : rng.NextDouble();
            string id = $"20260101-{i / 10:000000}-{i:x4}"; // ten runs a second: ties on the start broken by id
            var row = new RunRow(id, "e" + (i % 4), statuses[rng.Next(statuses.Length)], Path.Combine(root, "e", id), T0.AddSeconds(i / 10), p, m)
                { Superseded = i % 11 == 0, Owner = new ProcessRef(Environment.MachineName, 999_999, null) }; // a RUNNING run's process long gone: CRASHED
            rows.Add(($"e{i % 4}/{id}", row));
        }
        using var index = RunIndex.Open(root, cache);
        (index.Parts, index.PartRows) = (3, 100);
        index.Put(rows);
        string[] by = ["training.learning_rate", "training.gradient_reduction"];
        var options = new ComparisonOptions { GroupBy = by, Sort = "metrics.test_accuracy", Descending = true };
        var (groups, runs, superseded, _) = index.Groups(by, [.. Comparison.MetricColumns.Select(c => c.Name)], allAttempts, effective: true);
        var held = index.Held().Rows.Where(r => allAttempts || !r.Superseded).ToList();
        Assert.Equal((held.Count, allAttempts ? 0 : rows.Count(r => r.Item2.Superseded)), (runs, superseded));
        string fromGroups = Render.Csv(Comparison.FromGroups(groups, options)), fromRows = Render.Csv(Comparison.Build(held, options));
        Assert.Equal(fromRows, fromGroups);
        Assert.Contains("CRASHED", fromGroups);
        Assert.Contains("mixed", Render.Csv(Comparison.FromGroups(index.Groups(["training.learning_rate"], ["test_accuracy"], allAttempts, effective: true).Groups, new ComparisonOptions { GroupBy = ["training.learning_rate"] })));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void The_csv_written_from_the_index_is_the_csv_of_the_runs_rows(bool allAttempts, bool withRates)
    {
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        Directory.CreateDirectory(root);
        var rng = new Random(11);
        string[] statuses = [RunStatus.Finished, RunStatus.Diverged, RunStatus.Running];
        var rows = new List<(string, RunRow)>();
        for (int i = 0; i < 2000; i++)
        {
            var p = new Dictionary<string, string> { ["seed"] = i.ToString(CultureInfo.InvariantCulture), ["name"] = "same", ["training.batch_size"] = "20" };
            if (withRates && i % 13 != 0) p["training.learning_rate"] = new[] { "0.01", "0.1", "1.0" }[rng.Next(3)];
            if (withRates) p["training.gradient_reduction"] = rng.Next(2) == 0 ? "mean" : "sum";
            if (i % 7 == 0) p["label"] = i % 14 == 0 ? "a, \"quoted\" label" : "";
            var m = new Dictionary<string, double> { ["test_accuracy"] = rng.NextDouble(), ["epochs_run"] = rng.Next(1, 4) };
            if (i % 3 == 0) m["test_loss"] = i % 9 == 0 ? double.NaN : rng.NextDouble() * 1e-7;
            string id = $"20260101-{i / 10:000000}-{i:x4}";
            rows.Add(($"e{i % 3}/{id}", new RunRow(id, "e" + (i % 3), statuses[rng.Next(statuses.Length)], Path.Combine(root, "e", id), T0.AddSeconds(i / 10), p, m)
                { Superseded = i % 11 == 0, Owner = new ProcessRef(Environment.MachineName, 999_999, null) }));
        }
        using var index = RunIndex.Open(root, cache);
        (index.Parts, index.PartRows) = (3, 100);
        index.Put(rows);
        using var written = new MemoryStream();
        var (runs, superseded) = index.Csv(written, allAttempts);
        var held = index.Held().Rows.Where(r => allAttempts || !r.Superseded).ToList();
        Assert.Equal((held.Count, allAttempts ? 0 : rows.Count(r => r.Item2.Superseded)), (runs, superseded));
        string fromIndex = System.Text.Encoding.UTF8.GetString(written.ToArray()), fromRows = Render.Csv(Comparison.Build(held, new ComparisonOptions()));
        Assert.Equal(fromRows, fromIndex);
        Assert.Contains("\"a, \"\"quoted\"\" label\"", fromIndex);
        Assert.Contains("CRASHED", fromIndex);
        Assert.Equal(withRates, fromIndex.Split('\n')[0].Contains("effective_lr"));
    }

    [Fact]
    public async Task Runs_written_while_others_read_never_break_a_reader_and_all_arrive()
    {
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        var writer = Task.Run(() => { for (int i = 0; i < 120; i++) MakeRun(root, "w", i); }, TestContext.Current.CancellationToken);
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            int loads = 0;
            while (!writer.IsCompleted || loads == 0)
            {
                using var index = RunIndex.Open(root, cache);
                var (rows, refresh) = index.Load();
                Assert.Empty(refresh.Broken);
                Assert.All(rows, r => Assert.Equal("w", r.Experiment));
                loads++;
            }
            return loads;
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll([writer, .. readers]);
        Assert.Equal(120, FromIndex(root, cache, out _).Count);
        Assert.Equal(FromFolders(root), FromIndex(root, cache, out _));
    }

    [Fact]
    public void The_newest_runs_come_from_the_index_without_reading_the_rest()
    {
        using var dir = new TempDir();
        string root = dir.File("runs"), cache = dir.File("cache");
        for (int i = 0; i < 12; i++) MakeRun(root, i < 4 ? "b" : "a", i);
        using var index = RunIndex.Open(root, cache);
        index.Refresh();
        var (rows, total) = index.Newest(3);
        Assert.Equal(12, total);
        Assert.Equal(new[] { 11, 10, 9 }.Select(i => T0.AddSeconds(i)), rows.Select(r => r.Started!.Value));
        (rows, total) = index.Newest(10, "b");
        Assert.Equal((4, 4), (total, rows.Count));
    }

    [Theory]
    [InlineData("server:/export/home /home nfs4 rw,relatime 0 0", "/home/ann/.cache", true)]
    [InlineData("server:/export/home /home nfs4 rw,relatime 0 0", "/homework/x", false)]
    [InlineData("/dev/sda1 / ext4 rw 0 0\nfs:/scratch /scratch lustre rw 0 0", "/scratch/u/.cache", true)]
    [InlineData("/dev/sda1 / ext4 rw 0 0\nfs:/scratch /scratch lustre rw 0 0", "/var/cache", false)]
    public void A_cache_on_a_network_filesystem_is_recognised(string mounts, string path, bool network) =>
        Assert.Equal(network, RunIndex.IsNetwork(path, mounts));

    [Fact]
    public void The_cache_folder_follows_xdg_and_leaves_a_network_home()
    {
        var env = new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = "/local/cache", ["USER"] = "ann" };
        Assert.Equal("/local/cache/exprunner/index", RunIndex.CacheDir(k => env.GetValueOrDefault(k), "/dev/sda1 / ext4 rw 0 0"));
        Assert.Equal(Path.Combine(Path.GetTempPath(), "exprunner-ann", "index"),
            RunIndex.CacheDir(k => env.GetValueOrDefault(k), "/dev/sda1 / ext4 rw 0 0\nsrv:/c /local nfs rw 0 0"));
    }

    [Fact]
    public void A_folders_fingerprint_is_the_same_in_every_process()
    {
        // Fingerprints are stored in the index and compared by the next process: a per-process seed (HashCode) would
        // make every folder look changed to it. The mix is fixed: these values are what any process computes.
        Assert.Equal(RunIndex.Mix(1, 2, 3), RunIndex.Mix(1, 2, 3));
        Assert.NotEqual(RunIndex.Mix(1, 2, 3), RunIndex.Mix(1, 2, 4));
        Assert.Equal(-6276207672628822631L, RunIndex.Mix(638_000_000_000_000_000L, 1234, 5678, -1));
    }
}
