using ExpRunner.Cli;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;
using Spectre.Console.Testing;

namespace ExpRunner.Tests.Cli;

/// <summary>The command line itself, run in-process: what a mistyped or impossible input gets.</summary>
public class CommandLineTests
{
    private const string Xor = """
        name: cl
        seed: 3
        dataset: { name: xor, samples: 200 }
        model: { layers: [ { units: 6, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 16, epochs: 3 }
        """;

    [Theory]
    [InlineData("list --fliter x", "unknown option '--fliter' for 'list'; did you mean '--filter'?")]
    [InlineData("run cl.yaml --runs-dir other", "unknown option '--runs-dir' for 'run'; did you mean '--runs'?")]
    [InlineData("sweep cl.yaml --mlflow-uri http://x", "unknown option '--mlflow-uri' for 'sweep'")]
    [InlineData("lsit", "unknown command 'lsit'; did you mean 'list'?")]
    [InlineData("sweep cl.yaml --jobs abc", "'abc' is not a valid whole number for --jobs")]
    [InlineData("sweep cl.yaml --jobs 0", "--jobs 0: must be between 1 and 4096")]
    [InlineData("sweep cl.yaml --partition cpu", "are Slurm options: add --executor slurm")]
    [InlineData("sweep cl.yaml --executor slurn", "--executor slurn: one of local, slurm (did you mean 'slurm'?)")]
    [InlineData("sweep --resume latest --dry-run", "--resume takes a sweep as it was defined")]
    [InlineData("compare --fliter x", "unknown option '--fliter' for 'compare'; did you mean '--filter'?")]
    [InlineData("run", "give an experiment file (exprunner run experiments/xor.yaml), or --resume RUN")]
    [InlineData("run cl.yaml cl.yaml", "unexpected argument")]
    [InlineData("mlflow", "'mlflow' needs a command: push")]
    [InlineData("predict somerun --index 99999999999", "'99999999999' is not a valid whole number for --index")]
    public void A_mistyped_or_impossible_command_line_is_a_usage_error_that_says_what_is_wrong(string line, string message)
    {
        using var dir = new TempDir();
        dir.Write("cl.yaml", Xor);
        var args = line.Split(' ').Select(a => a == "cl.yaml" ? dir.File(a) : a).Append("--runs").Append(dir.File("runs")).ToArray();
        if (line is "lsit" or "mlflow") args = [line];
        var r = InProcess.Run(args);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains(message, r.Stderr);
        Assert.False(Directory.Exists(dir.File("runs/cl")));
    }

    [Fact]
    public void The_version_is_the_one_every_run_records()
    {
        var r = InProcess.Run("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(Provenance.Version, r.Stdout.Trim());
        Assert.Equal("0.1.0", Provenance.Version);
    }

    [Fact]
    public void A_dry_run_shows_the_trials_and_what_every_trial_shares()
    {
        using var dir = new TempDir();
        var r = InProcess.Run("sweep", dir.Write("cl.yaml", Xor), "--set", "training.learning_rate=0.1,0.5", "--set", "training.epochs=2", "--dry-run",
            "--runs", dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("2 trials (2)", r.Stdout);
        Assert.Contains("training.learning_rate=0.5", r.Stdout);
        Assert.Contains("every trial also: --set training.epochs=2", r.Stderr);
        var single = InProcess.Run("sweep", dir.File("cl.yaml"), "--dry-run", "--runs", dir.File("runs"));
        Assert.Contains("the config has no sweep: block", single.Stderr);
        Assert.False(Directory.Exists(dir.File("runs")));
    }

    [Fact]
    public void A_broken_config_gets_every_error_with_its_position_and_exit_code_two()
    {
        using var dir = new TempDir();
        string config = dir.Write("bad.yaml", Xor.Replace("learning_rate: 0.5", "learning_rat: 0.5").Replace("units: 6", "units: -6"));
        foreach (var command in new[] { "run", "validate" })
        {
            var r = InProcess.Run(command == "run" ? [command, config, "--runs", dir.File("runs")] : [command, config]);
            Assert.True(r.ExitCode == 2, r.ToString());
            Assert.Contains($"{config}:6:13 training.learning_rat: unknown key (did you mean 'learning_rate'?)", r.Stderr);
            Assert.Contains($"{config}:4:29 model.layers.0.units: must be between 1 and 100000, got -6", r.Stderr);
        }
        Assert.False(Directory.Exists(dir.File("runs")));
    }

    [Fact]
    public void A_run_in_process_writes_its_folder_where_runs_says_and_list_finds_it()
    {
        using var dir = new TempDir();
        var run = InProcess.Run("run", dir.Write("cl.yaml", Xor), "--runs", dir.File("elsewhere"), "--quiet");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith("FINISHED " + dir.File("elsewhere/cl/"), run.Stdout);
        var list = InProcess.Run(new Dictionary<string, string> { ["EXPRUNNER_RUNS"] = dir.File("elsewhere") }, "list");
        Assert.Contains("FINISHED", list.Stdout);
        Assert.Contains("cl", list.Stdout);
    }

    [Fact]
    public void List_shows_a_run_left_running_by_a_dead_process_as_crashed()
    {
        using var dir = new TempDir();
        var folder = RunFolder.Create(dir.File("runs"), "ghost", DateTimeOffset.UtcNow);
        using var gone = System.Diagnostics.Process.Start("true")!;
        gone.WaitForExit();
        folder.WriteRecord(new RunRecord { Id = folder.Id, Experiment = "ghost", Status = RunStatus.Running, Started = DateTimeOffset.UtcNow, Host = Environment.MachineName, Pid = gone.Id });
        var r = InProcess.Run("list", "--runs", dir.File("runs"));
        Assert.Contains("CRASHED", r.Stdout);
        Assert.DoesNotContain("RUNNING", r.Stdout);
    }
    /// <summary>
    /// A command line that names a command is parsed with that command alone registered (start-up);
    /// its help, and a usage error in it, read exactly as with every command registered.
    /// </summary>
    [Fact]
    public void A_command_parsed_alone_reads_as_among_all_the_commands()
    {
        var lines = App.CommandNames.SelectMany(n => new string[][] { [.. n.Split(' '), "--help"], [.. n.Split(' '), "--no-such-option"] }).ToList();
        Assert.True(lines.Count >= 40, $"{lines.Count} command lines");
        foreach (var line in lines)
        {
            var (alone, among) = (Help(line, line), Help(line, []));
            Assert.False(string.IsNullOrWhiteSpace(among.Output), string.Join(' ', line));
            Assert.Equal(among, alone);
            if (line[^1] == "--help") Assert.True(among.Code == 0 && among.Output.Contains("USAGE:", StringComparison.Ordinal), $"{string.Join(' ', line)}: {among}");
        }
        // The help of everything lists every command, each with its description.
        var all = Help(["--help"], ["--help"]);
        Assert.Equal(0, all.Code);
        foreach (var name in App.CommandNames) Assert.Contains(name.Split(' ')[0], all.Output);
        Assert.Contains("(empty [--older-than 30d])", all.Output);
    }

    private static (int Code, string Output) Help(string[] line, string[] configuredFor)
    {
        var console = new TestConsole().Width(200);
        var cli = new CliContext { Out = console, Error = console, Environment = new Dictionary<string, string>(), Self = ["exprunner"] };
        try { return (App.Build(cli, configuredFor).Run(line), console.Output); }
        catch (Spectre.Console.Cli.CommandAppException e) { return (-1, e.Message); }
    }
    [Fact]
    public void Errors_on_a_terminal_wrap_between_words_and_elsewhere_stay_one_line()
    {
        const string message = "mnist data not found in 'data/mnist': missing train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]. " +
            "Run `make data` (or `exprunner data fetch mnist`) to get it, or set dataset.path.";
        var text = new StringWriter();
        var console = new TestConsole();
        var cli = new CliContext { Out = console, Error = console, ErrorText = text, Self = ["exprunner"], ErrorWidth = () => 40 };
        cli.Fail(message);
        var lines = text.ToString().TrimEnd('\n').Split('\n');
        Assert.True(lines.Length > 3 && lines.All(l => l.Length <= 40), text.ToString());
        Assert.StartsWith("error: mnist data", lines[0]);
        Assert.All(lines.Skip(1), l => Assert.True(l.StartsWith("  ", StringComparison.Ordinal) && l[2] != ' ', l));
        Assert.Equal("error: " + message, string.Join(' ', lines.Select(l => l.Trim()))); // every word kept, none split

        // A word longer than a line is cut; a line within the width, or no width (a pipe), is left as it is.
        Assert.Equal("aaaaaaaaaaaaaaaaaaaaaaaaa\n  aaaaa", CliContext.Wrap(new string('a', 30), 25));
        Assert.Equal("short line", CliContext.Wrap("short line", 25));
        Assert.Equal(message, CliContext.Wrap(message, null));
    }
}
