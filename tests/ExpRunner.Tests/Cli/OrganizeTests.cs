using System.Text.Json;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>Runs people can organize: labels, tags and notes in the run folder, read everywhere; rm to a trash, restore, empty.</summary>
public class OrganizeTests
{
    private const string Xor = """
        name: org
        seed: 3
        dataset: { name: xor, samples: 200 }
        model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 20, epochs: 3 }
        """;

    private static string Run(TempDir dir, params string[] more)
    {
        var r = InProcess.Run(["run", dir.Write("org.yaml", Xor), "--runs", dir.File("runs"), "-q", .. more]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return Path.GetFileName(r.Stdout.Split(' ')[1]);
    }

    [Fact]
    public void Labels_tags_and_notes_are_kept_in_the_run_folder_and_read_by_list_show_compare_and_filters()
    {
        using var dir = new TempDir();
        string runs = dir.File("runs");
        string a = Run(dir, "--label", "first try with adam", "--tag", "stage=baseline", "--tag", "owner=ana");
        string b = Run(dir);
        Assert.Equal(0, InProcess.Run("tag", b, "stage=candidate", "--runs", runs).ExitCode);
        Assert.Equal(0, InProcess.Run("note", b, "lr *too* high?", "--runs", runs).ExitCode);
        var meta = RunMeta.Read(RunFolder.Open(Path.Combine(runs, "org", a)));
        Assert.Equal("first try with adam", meta.Label);
        Assert.Equal("baseline", meta.Tags["stage"]);

        var filtered = InProcess.Run("list", "--runs", runs, "--filter", "tags.stage = 'candidate'", "--json");
        Assert.Equal([b], JsonDocument.Parse(filtered.Stdout).RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        var liked = InProcess.Run("list", "--runs", runs, "--filter", "attributes.label LIKE '%adam%'", "--json");
        var row = JsonDocument.Parse(liked.Stdout).RootElement.EnumerateArray().Single();
        Assert.Equal(a, row.GetProperty("id").GetString());
        Assert.Equal("ana", row.GetProperty("tags").GetProperty("owner").GetString());
        Assert.Contains("first try with adam", InProcess.Run("list", "--runs", runs).Stdout);

        var compare = InProcess.Run("compare", "--runs", runs, "--format", "csv");
        Assert.Contains("tags.stage", compare.Stdout.Split('\n')[0]);
        var grouped = InProcess.Run("compare", "--runs", runs, "--group-by", "tags.stage", "--format", "csv");
        Assert.True(grouped.ExitCode == 0, grouped.ToString());
        Assert.Contains("candidate", grouped.Stdout);
        var show = InProcess.Run("show", b, "--runs", runs);
        Assert.Contains("stage=candidate", show.Stdout);
        Assert.Contains("lr *too* high?", show.Stdout);
        Assert.Equal("lr *too* high?\n", InProcess.Run("note", b, "--runs", runs).Stdout);

        Assert.Equal(0, InProcess.Run("tag", b, "--remove", "stage", "--runs", runs).ExitCode);
        Assert.Empty(RunMeta.Read(RunFolder.Open(Path.Combine(runs, "org", b))).Tags);
        var missing = InProcess.Run("tag", b, "--remove", "stag", "--runs", runs);
        Assert.Equal(2, missing.ExitCode);
        var bad = InProcess.Run("tag", b, "no-equals", "--runs", runs);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("key=value", bad.Stderr);
    }

    [Fact]
    public async Task Concurrent_taggers_lose_no_tag()
    {
        using var dir = new TempDir();
        string id = Run(dir);
        var folder = RunFolder.Open(Path.Combine(dir.File("runs"), "org", id));
        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => RunMeta.Update(folder, m => m with { Tags = new Dictionary<string, string>(m.Tags) { [$"k{i}"] = $"{i}" } }))));
        Assert.Equal(16, RunMeta.Read(folder).Tags.Count);
    }

    [Fact]
    public void Rm_moves_runs_to_the_trash_which_lists_restores_and_empties_them()
    {
        using var dir = new TempDir();
        string runs = dir.File("runs");
        string a = Run(dir), b = Run(dir), c = Run(dir);
        Assert.Equal(0, InProcess.Run("rm", a, "--runs", runs).ExitCode);
        Assert.False(Directory.Exists(Path.Combine(runs, "org", a)));
        var list = InProcess.Run("list", "--runs", runs, "--json");
        Assert.DoesNotContain(a, list.Stdout); // gone from list (and compare, the UI) at once
        Assert.Contains(a, InProcess.Run("trash", "--runs", runs).Stdout);
        // A bulk deletion off a terminal needs --yes; with it, it happens.
        var ask = InProcess.Run("rm", "--filter", "attributes.status = 'FINISHED'", "--runs", runs);
        Assert.Equal(2, ask.ExitCode);
        Assert.Contains("--yes", ask.Stderr);
        Assert.True(Directory.Exists(Path.Combine(runs, "org", b)));
        Assert.Equal(0, InProcess.Run("rm", "--filter", "attributes.status = 'FINISHED'", "--yes", "--runs", runs).ExitCode);
        Assert.Empty(Directory.GetDirectories(Path.Combine(runs, "org")));
        Assert.Equal(0, InProcess.Run("restore", a, "--runs", runs).ExitCode);
        Assert.True(File.Exists(Path.Combine(runs, "org", a, RunFolder.RecordFile)));
        Assert.Contains(a, InProcess.Run("list", "--runs", runs).Stdout);
        Assert.Equal(2, InProcess.Run("restore", "zzzz", "--runs", runs).ExitCode);
        // Emptying: nothing is older than a day yet; then everything.
        Assert.Contains("nothing deleted", InProcess.Run("trash", "empty", "--older-than", "1d", "--yes", "--runs", runs).Stderr);
        Assert.Equal(0, InProcess.Run("trash", "empty", "--yes", "--runs", runs).ExitCode);
        Assert.Contains("The trash is empty", InProcess.Run("trash", "--runs", runs).Stdout);
        Assert.Equal(2, InProcess.Run("trash", "empty", "--older-than", "soon", "--runs", runs).ExitCode);
        Assert.False(Directory.Exists(Path.Combine(runs, "org", b)));
        Assert.False(Directory.Exists(Path.Combine(runs, "org", c)));
    }

    [Fact]
    public async Task A_run_being_trained_cannot_be_deleted()
    {
        using var dir = new TempDir();
        using var cancel = new CancellationTokenSource();
        string config = dir.Write("long.yaml", Xor.Replace("epochs: 3", "epochs: 1000000"));
        var training = Task.Run(() => InProcess.Run(new InProcess.Terminal(Cancel: cancel.Token), null, "run", config, "--runs", dir.File("runs"), "-q"), TestContext.Current.CancellationToken);
        Eventually.Reach(() => Directory.Exists(dir.File("runs/org")) && Directory.GetDirectories(dir.File("runs/org")) is [var d] && File.Exists(Path.Combine(d, RunFolder.MetricsFile)), "the run training");
        string id = Path.GetFileName(Directory.GetDirectories(dir.File("runs/org")).Single());
        var rm = InProcess.Run("rm", id, "--runs", dir.File("runs"));
        Assert.Equal(2, rm.ExitCode);
        Assert.Contains("is being trained", rm.Stderr);
        Assert.True(Directory.Exists(Path.Combine(dir.File("runs/org"), id)));
        await cancel.CancelAsync();
        Assert.Equal(130, (await training).ExitCode);
    }

    [Fact]
    public void A_sweeps_label_and_tags_go_to_each_trial()
    {
        using var dir = new TempDir();
        var r = InProcess.Run("sweep", dir.Write("org.yaml", Xor + "\nsweep: { grid: { training.learning_rate: [0.1, 0.5] } }\n"), "--runs", dir.File("runs"),
            "--label", "lr study", "--tag", "study=lr");
        Assert.True(r.ExitCode == 0, r.ToString());
        var metas = Directory.GetDirectories(dir.File("runs/org")).Select(d => RunMeta.Read(RunFolder.Open(d))).ToList();
        Assert.Equal(2, metas.Count);
        Assert.All(metas, m => Assert.Equal(("lr study", "lr"), (m.Label, m.Tags["study"])));
    }

    [Fact]
    public void A_sweep_says_which_trials_runs_were_deleted_and_trains_them_again_only_when_asked()
    {
        using var dir = new TempDir();
        string config = dir.Write("org.yaml", Xor + "\nsweep: { grid: { training.learning_rate: [0.1, 0.5] } }\n");
        var r = InProcess.Run("sweep", config, "--runs", dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        var store = new ExpRunner.Sweeps.SweepStore(dir.File("runs"));
        var sweep = store.Read("latest");
        string gone = sweep.Trials[1].RunId!;
        Assert.Equal(0, InProcess.Run("rm", gone, "--runs", dir.File("runs")).ExitCode);
        var status = InProcess.Run("sweep", "--status", sweep.Id, "--runs", dir.File("runs"));
        Assert.Contains("(run deleted)", status.Stdout);
        var resumed = InProcess.Run("sweep", "--resume", sweep.Id, "--runs", dir.File("runs"));
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("trial 1 was deleted", resumed.Stderr.ReplaceLineEndings(" "));
        Assert.Single(Directory.GetDirectories(dir.File("runs/org"))); // not trained again
        var again = InProcess.Run("sweep", "--resume", sweep.Id, "--runs", dir.File("runs"), "--retrain-deleted");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(2, Directory.GetDirectories(dir.File("runs/org")).Length);
        Assert.NotEqual(gone, store.Read(sweep.Id).Trials[1].RunId);
        // The whole sweep to the trash at once.
        var all = InProcess.Run("rm", "--sweep", sweep.Id, "--yes", "--runs", dir.File("runs"));
        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Empty(Directory.GetDirectories(dir.File("runs/org")));
        Assert.Equal(3, Directory.GetDirectories(Path.Combine(dir.File("runs"), ".trash", "org")).Length); // and the first deleted one
    }

    [Fact, System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_note_is_written_in_the_editor_and_an_editor_that_fails_changes_nothing()
    {
        using var dir = new TempDir();
        string id = Run(dir);
        Assert.Equal(0, InProcess.Run("note", id, "first words", "--runs", dir.File("runs")).ExitCode);
        string editor = dir.Write("ed.sh", "#!/bin/sh\n{ cat \"$1\"; echo ' and more'; } > \"$1.new\" && mv \"$1.new\" \"$1\"\n");
        File.SetUnixFileMode(editor, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var edited = InProcess.Run(new Dictionary<string, string> { ["EDITOR"] = editor }, "note", id, "--edit", "--runs", dir.File("runs"));
        Assert.True(edited.ExitCode == 0, edited.ToString());
        var folder = RunFolder.Open(Path.Combine(dir.File("runs"), "org", id));
        Assert.Equal("first words and more\n", RunMeta.Read(folder).Note); // the editor saw the note as it was
        string failing = dir.Write("fail.sh", "#!/bin/sh\necho gone > \"$1\"; exit 3\n");
        File.SetUnixFileMode(failing, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var failed = InProcess.Run(new Dictionary<string, string> { ["EDITOR"] = failing }, "note", id, "--edit", "--runs", dir.File("runs"));
        Assert.Equal(2, failed.ExitCode);
        Assert.Contains("exited with 3: the note is unchanged", failed.Stderr);
        Assert.Equal("first words and more\n", RunMeta.Read(folder).Note);
    }
}
