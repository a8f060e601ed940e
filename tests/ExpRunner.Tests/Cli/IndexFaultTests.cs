using System.Text.Json;
using ExpRunner.Compare;
using ExpRunner.Tests.Compare;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Cli;

/// <summary>Whatever state the index cache is in, the commands that read runs answer from the folders, with one warning.</summary>
public class IndexFaultTests
{
    private static List<string> Ids(CliResult r) =>
        JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetString()!).Order(StringComparer.Ordinal).ToList();

    private static (TempDir Dir, string Root, List<string> Ids) Runs()
    {
        var dir = new TempDir();
        string root = dir.File("runs");
        var ids = Enumerable.Range(0, 5).Select(i => RunIndexTests.MakeRun(root, "a", i).Id).Order(StringComparer.Ordinal).ToList();
        return (dir, root, ids);
    }

    private static CliResult List(string root, string cacheHome, params string[] more) =>
        InProcess.Run(new Dictionary<string, string> { ["XDG_CACHE_HOME"] = cacheHome }, ["list", "--runs", root, "--json", .. more]);

    [Theory]
    [InlineData(100)]  // all but the file's header
    [InlineData(4096)] // the pages after the first (the schema intact, the rows not)
    public void A_damaged_index_file_is_rebuilt_with_one_warning_and_list_answers_from_the_folders(int from)
    {
        var (dir, root, ids) = Runs();
        using var _ = dir;
        string cacheHome = dir.File("cache");
        Assert.Equal(ids, Ids(List(root, cacheHome)));
        string db = RunIndex.FileFor(root, RunIndex.CacheDir(k => k == "XDG_CACHE_HOME" ? cacheHome : null));
        // Its pages overwritten, the 100-byte header left intact.
        using (var f = new FileStream(db, FileMode.Open, FileAccess.Write))
        {
            Assert.True(f.Length > from, $"the index has {f.Length} bytes");
            f.Position = from;
            f.Write(Enumerable.Range(0, (int)f.Length - from).Select(i => (byte)(i * 31 + 7)).ToArray());
        }
        var damaged = List(root, cacheHome);
        Assert.True(damaged.ExitCode == 0, damaged.ToString());
        Assert.Equal(ids, Ids(damaged));
        Assert.Contains($"warning: the run index {db} was damaged", damaged.Stderr);
        Assert.Single(damaged.Stderr.Split('\n'), l => l.StartsWith("warning:", StringComparison.Ordinal));
        // Rebuilt: the next command has nothing to say.
        var next = List(root, cacheHome);
        Assert.Equal(ids, Ids(next));
        Assert.DoesNotContain("warning", next.Stderr);
        var table = InProcess.Run(new Dictionary<string, string> { ["XDG_CACHE_HOME"] = cacheHome }, "list", "--runs", root, "--limit", "2");
        Assert.True(table.ExitCode == 0, table.ToString());
    }

    [Theory]
    [InlineData("index path is a folder")]
    [InlineData("cache home is a file")]
    public void An_index_that_cannot_be_opened_at_all_is_read_around_with_one_warning(string how)
    {
        var (dir, root, ids) = Runs();
        using var _ = dir;
        string cacheHome = dir.File("cache");
        if (how == "cache home is a file") File.WriteAllText(cacheHome, "not a folder");
        else Directory.CreateDirectory(RunIndex.FileFor(root, RunIndex.CacheDir(k => k == "XDG_CACHE_HOME" ? cacheHome : null)));
        foreach (var args in new[] { new[] { "list", "--runs", root, "--json" }, ["compare", "--runs", root, "--format", "csv"], ["list", "--runs", root, "--limit", "3"] })
        {
            var r = InProcess.Run(new Dictionary<string, string> { ["XDG_CACHE_HOME"] = cacheHome }, args);
            Assert.True(r.ExitCode == 0, $"{string.Join(' ', args)}: {r}");
            Assert.Single(r.Stderr.Split('\n'), l => l.StartsWith("warning: the run index", StringComparison.Ordinal));
            Assert.Contains("cannot be used", r.Stderr);
            Assert.Contains("the run folders were read directly", r.Stderr);
            foreach (var id in args[0] == "list" && args.Contains("--limit") ? ids[^3..] : ids) Assert.Contains(id, r.Stdout);
        }
    }
}
