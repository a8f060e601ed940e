using ExpRunner.IO;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Compare;

/// <summary>The run index's listing (readdir + statx) gives exactly what the framework's enumeration gives.</summary>
public class FolderListingTests
{
    [Fact]
    public void Folders_and_their_times_are_the_frameworks_for_every_kind_of_entry()
    {
        using var dir = new TempDir();
        using var outside = new TempDir();
        string Sub(string name) { Directory.CreateDirectory(dir.File(name)); return dir.File(name); }
        Sub("20260101-000000-plain");
        Sub(".hidden");
        Sub("ünïcode-名前");
        Sub("with space");
        dir.Write("a-file.txt", "not a folder");
        Directory.CreateSymbolicLink(dir.File("link-to-folder"), outside.Path);
        File.CreateSymbolicLink(dir.File("link-to-file"), dir.File("a-file.txt"));
        File.CreateSymbolicLink(dir.File("dangling"), dir.File("nowhere"));
        // Times apart from one another, to the tick the filesystem keeps.
        var t = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddTicks(1234567);
        Directory.SetLastWriteTimeUtc(dir.File("20260101-000000-plain"), t);
        Directory.SetLastWriteTimeUtc(outside.Path, t.AddDays(-3));

        var native = FolderListing.Of(dir.Path).OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        var managed = FolderListing.Managed(dir.Path).OrderBy(f => f.Name, StringComparer.Ordinal).ToList();

        Assert.Equal(managed, native);
        Assert.Equal([".hidden", "20260101-000000-plain", "link-to-folder", "with space", "ünïcode-名前"], native.Select(f => f.Name));
        Assert.Equal(t.Ticks, native.Single(f => f.Name == "20260101-000000-plain").WriteTicks);
        Assert.Empty(FolderListing.Of(dir.File("missing")));
        Assert.Empty(FolderListing.Of(dir.File("a-file.txt")));
    }

    [Fact]
    public void A_files_time_and_size_are_the_frameworks()
    {
        using var dir = new TempDir();
        string file = dir.Write("run.json", "{\"id\": 1}");
        var t = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(7654321);
        File.SetLastWriteTimeUtc(file, t);
        File.CreateSymbolicLink(dir.File("linked.json"), file);
        File.CreateSymbolicLink(dir.File("dangling.json"), dir.File("nowhere"));
        Directory.CreateDirectory(dir.File("folder.json"));

        Assert.Equal((t.Ticks, 9L), FolderListing.File(file));
        foreach (var name in new[] { "run.json", "linked.json", "dangling.json", "folder.json", "missing.json" })
            Assert.Equal(FolderListing.ManagedFile(dir.File(name)), FolderListing.File(dir.File(name)));
        Assert.Equal((t.Ticks, 9L), FolderListing.File(dir.File("linked.json"))); // the link's file
        Assert.Null(FolderListing.File(dir.File("dangling.json")));
        Assert.Null(FolderListing.File(dir.File("folder.json")));
    }
}
