using System.Diagnostics;
using ExpRunner.Tests.Compare;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>Inputs that used to get a wrong or unhelpful answer: each now says where and what.</summary>
public class SmallAnswersTests
{
    [Fact]
    public void A_process_blocked_reading_a_pipe_ends_on_sigterm_with_exit_130()
    {
        using var dir = new TempDir();
        string fifo = dir.File("config.yaml");
        using (var mkfifo = Process.Start("mkfifo", fifo)!)
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        using var p = ExpRunnerProcess.Start(dir.Path, null, "validate", fifo);
        // Its main thread blocked opening the pipe, which no one will write.
        Eventually.Reach(() => File.ReadAllText($"/proc/{p.Id}/task/{p.Id}/wchan") == "wait_for_partner", "validate blocked on the pipe");
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) kill.WaitForExit();
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 130, r.ToString());
        Assert.Contains("error: interrupted", r.Stderr);
    }

    [Fact]
    public void Show_of_a_run_with_a_broken_summary_shows_the_rest_and_names_the_file()
    {
        using var dir = new TempDir();
        var run = RunIndexTests.MakeRun(dir.File("runs"), "a", 1);
        File.WriteAllText(run.PathOf(RunFolder.SummaryFile), "{ \"id\": ");
        var r = InProcess.Run("show", run.Id, "--runs", dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"warning: {run.PathOf(RunFolder.SummaryFile)}: not valid JSON", r.Stderr);
        Assert.Contains("FINISHED", r.Stdout);
        var json = InProcess.Run("show", run.Id, "--runs", dir.File("runs"), "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var shown = System.Text.Json.JsonDocument.Parse(json.Stdout).RootElement;
        Assert.False(shown.TryGetProperty("summary", out var summary) && summary.ValueKind != System.Text.Json.JsonValueKind.Null);
        Assert.Equal(run.Id, shown.GetProperty("record").GetProperty("id").GetString());
    }

    [Fact]
    public void An_empty_run_json_beside_the_rest_of_a_run_is_warned_about_not_left_out_silently()
    {
        using var dir = new TempDir();
        var kept = RunIndexTests.MakeRun(dir.File("runs"), "a", 1);
        var emptied = RunIndexTests.MakeRun(dir.File("runs"), "a", 2);
        File.WriteAllText(emptied.PathOf(RunFolder.ConfigFile), "name: a\n");
        File.WriteAllText(emptied.PathOf(RunFolder.RecordFile), "");
        var r = InProcess.Run(new Dictionary<string, string> { ["XDG_CACHE_HOME"] = dir.File("cache") }, "list", "--runs", dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains(kept.Id, r.Stdout);
        Assert.Contains($"warning: skipped a broken run folder: {emptied.PathOf(RunFolder.RecordFile)}: empty", r.Stderr);
    }

    [Fact]
    public void A_runs_directory_that_is_a_file_is_said_to_be_one()
    {
        using var dir = new TempDir();
        string file = dir.Write("runs", "not a folder");
        foreach (var command in new[] { "list", "compare" })
        {
            var r = InProcess.Run(command, "--runs", file);
            Assert.True(r.ExitCode == 2, r.ToString());
            Assert.Contains($"error: --runs {file}: is a file, not a folder of runs", r.Stderr);
        }
        var env = InProcess.Run(new Dictionary<string, string> { ["EXPRUNNER_RUNS"] = file }, "list");
        Assert.True(env.ExitCode == 2, env.ToString());
        Assert.Contains($"error: $EXPRUNNER_RUNS {file}: is a file", env.Stderr);
    }

    [Fact]
    public void A_plot_into_a_folder_that_does_not_exist_is_bad_input_naming_the_folder()
    {
        using var dir = new TempDir();
        RunIndexTests.MakeRun(dir.File("runs"), "a", 1);
        string plot = dir.File("no/such/folder/curves.svg");
        var r = InProcess.Run(new Dictionary<string, string> { ["XDG_CACHE_HOME"] = dir.File("cache") }, "compare", "--runs", dir.File("runs"), "--plot", plot);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"error: --plot {plot}: the folder {dir.File("no/such/folder")} does not exist", r.Stderr);
        Assert.DoesNotContain(".tmp", r.Stderr);
    }

    [Fact]
    public void Init_into_a_path_that_is_a_file_says_so()
    {
        using var dir = new TempDir();
        string file = dir.Write("study", "a file");
        var r = InProcess.Run("init", file);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"error: {file} is a file, not a folder", r.Stderr);
        Assert.Equal("a file", File.ReadAllText(file));
    }
}
