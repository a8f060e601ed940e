using System.Text.Json;
using ExpRunner.Cli;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>A finished sweep of 8 xor trials (2 × 2 × 2 repeats), shared by the tests of a class and deleted after them.</summary>
public sealed class SweptRuns : IDisposable
{
    private readonly TempDir _dir = new();
    public string Runs { get; }

    public SweptRuns()
    {
        var r = InProcess.Run("sweep", _dir.Write("rd.yaml", ReadingTests.Xor), "--runs", _dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Runs = _dir.File("runs");
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>What a person reads, rendered through injected consoles at fixed widths.</summary>
public class ReadingTests(SweptRuns swept) : IClassFixture<SweptRuns>
{
    internal const string Xor = """
        name: rd
        seed: 3
        dataset: { name: xor, samples: 200 }
        model: { layers: [ { units: 6, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 16, epochs: 3 }
        sweep:
          grid: { training.gradient_reduction: [mean, sum], training.learning_rate: [0.1, 0.5] }
          repeats: 2
        """;

    private static string[] Lines(string text) => text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();

    [Theory]
    [InlineData(80)]
    [InlineData(120)]
    [InlineData(160)]
    public void The_headline_comparison_fits_the_terminal_and_splits_no_status(int width)
    {
        var r = InProcess.Run(new InProcess.Terminal(width, OutTerminal: true), null,
            "compare", "--sweep", "latest", "--runs", swept.Runs, "--group-by", "training.gradient_reduction,training.learning_rate");
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = Lines(r.Stdout);
        Assert.All(lines, l => Assert.True(l.Length <= width, $"{l.Length} > {width}: {l}"));
        var table = lines.Where(l => l.StartsWith('│')).ToList();
        // The header (a grouped key may break over two lines at its underscore, never cut) and four groups, a line each: nothing wrapped.
        int headerLines = table.Count - 4;
        Assert.InRange(headerLines, 1, 2);
        string header = string.Join("", table.Take(headerLines));
        Assert.True(header.Contains("learning_rate", StringComparison.Ordinal) || (header.Contains("learning_", StringComparison.Ordinal) && header.Contains("rate", StringComparison.Ordinal)), header);
        Assert.DoesNotContain("training.learning_rate", header);
        Assert.All(table.Skip(headerLines), l => Assert.Contains("2 FINISHED", l));
        if (width == 80) Assert.Contains(lines, l => l.StartsWith("left out to fit 80 columns: duration", StringComparison.Ordinal));
        Assert.Contains("4 groups of 8 loaded", r.Stdout);
    }

    [Fact]
    public void Output_for_a_pipe_keeps_every_column_and_full_names()
    {
        var r = InProcess.Run(new InProcess.Terminal(CliContext.PipeWidth), null, "compare", "--sweep", "latest", "--runs", swept.Runs,
            "--group-by", "training.gradient_reduction,training.learning_rate");
        Assert.Contains("training.learning_rate", r.Stdout);
        Assert.Contains("duration", r.Stdout);
        Assert.DoesNotContain("left out", r.Stdout);
    }

    [Fact]
    public void A_group_baseline_gives_differences_and_p_values_and_csv_carries_the_intervals()
    {
        var r = InProcess.Run("compare", "--sweep", "latest", "--runs", swept.Runs, "--group-by", "training.gradient_reduction,training.learning_rate",
            "--baseline", "mean,0.1", "--format", "csv");
        Assert.True(r.ExitCode == 0, r.ToString());
        var header = Lines(r.Stdout)[0].Split(',');
        foreach (var c in new[] { "test_accuracy_ci_low", "test_accuracy_ci_high", "test_accuracy_delta", "test_accuracy_p" }) Assert.Contains(c, header);
        var table = InProcess.Run("compare", "--sweep", "latest", "--runs", swept.Runs, "--group-by", "training.gradient_reduction,training.learning_rate",
            "--baseline", "mean, 0.1");
        Assert.Contains("(baseline)", table.Stdout);
        Assert.Contains("Δ", table.Stdout);
        Assert.Contains("Welch's", table.Stdout);
        var missing = InProcess.Run("compare", "--sweep", "latest", "--runs", swept.Runs, "--group-by", "training.learning_rate", "--baseline", "0.3");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no group '0.3' to compare against", missing.Stderr);
    }

    [Fact]
    public void The_sweep_ends_on_its_results_with_the_best_trial_marked()
    {
        using var dir = new TempDir();
        var r = InProcess.Run(new InProcess.Terminal(80, OutTerminal: true, Interactive: true), null, "sweep", dir.Write("rd.yaml", Xor.Replace("repeats: 2", "repeats: 1")), "--runs", dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = Lines(r.Stdout);
        Assert.All(lines, l => Assert.True(l.Length <= 80, l));
        Assert.Contains(lines, l => l.StartsWith("* best: trial ", StringComparison.Ordinal));
        Assert.Single(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^│ +\d+\* │")); // the best row's trial number is marked
        Assert.Contains("4/4 ended", r.Stderr);                               // the live view's last state
        Assert.Contains("best so far: trial ", r.Stderr);                      // shown as soon as a trial has ended
        Assert.DoesNotContain(" failed", r.Stderr);
        // One table at the end: the live view ends on its counts line, the results table follows once.
        string afterLive = r.Stderr[r.Stderr.LastIndexOf("4/4 ended", StringComparison.Ordinal)..];
        Assert.DoesNotContain("│", afterLive);
    }

    [Fact]
    public void An_interrupted_sweep_says_what_it_stopped_in_the_words_of_its_table()
    {
        using var dir = new TempDir();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel(); // interrupted before any trial ends
        var r = InProcess.Run(new InProcess.Terminal(80, OutTerminal: true, Interactive: true, Cancel: cancel.Token), null, "sweep", dir.Write("rd.yaml", Xor), "--runs", dir.File("runs"));
        Assert.Equal(130, r.ExitCode);
        string err = System.Text.RegularExpressions.Regex.Replace(r.Stderr, @"\s+", " ");
        Assert.Contains("interrupted:", err);
        Assert.Contains("never started", err);
        Assert.DoesNotContain("left", System.Text.RegularExpressions.Regex.Match(err, "interrupted:[^;]*").Value); // no time left once stopped
        Assert.DoesNotContain(" failed", r.Stderr + r.Stdout);  // killed trials are killed, not failed
        Assert.Contains("resume with: exprunner sweep --resume", r.Stdout + r.Stderr);
    }

    [Fact]
    public void A_runs_progress_line_ends_on_how_the_run_ended()
    {
        using var dir = new TempDir();
        string config = dir.Write("rd.yaml", Xor);
        var r = InProcess.Run(new InProcess.Terminal(80, Interactive: true), null, "run", config, "--runs", dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        var summary = RunFolder.Open(Directory.GetDirectories(dir.File("runs/rd")).Single()).ReadSummary()!;
        Assert.Contains($"FINISHED · test acc {summary.Final["test_accuracy"].ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)}", r.Stderr);
        Assert.All(Lines(r.Stderr), l => Assert.True(l.TrimEnd().Length <= 80, l));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var killed = InProcess.Run(new InProcess.Terminal(80, Interactive: true, Cancel: cancelled.Token), null, "run", config, "--runs", dir.File("killed"));
        Assert.Equal(130, killed.ExitCode);
        Assert.Contains("KILLED · no epoch finished", killed.Stderr);
        Assert.DoesNotContain("100%", killed.Stderr);
        Assert.Contains("no epoch finished, no metrics", killed.Stdout); // no empty table either
    }

    [Fact]
    public void List_show_and_eval_speak_json_and_eval_keeps_the_confusion_matrix_compact()
    {
        var list = InProcess.Run("list", "--runs", swept.Runs, "--json");
        using var doc = JsonDocument.Parse(list.Stdout);
        Assert.Equal(8, doc.RootElement.GetArrayLength());
        string id = doc.RootElement[0].GetProperty("id").GetString()!;
        var show = InProcess.Run("show", id, "--runs", swept.Runs, "--json");
        using var shown = JsonDocument.Parse(show.Stdout);
        Assert.Equal(3, shown.RootElement.GetProperty("summary").GetProperty("epochs_run").GetInt32());
        Assert.Equal(6, shown.RootElement.GetProperty("metrics").GetArrayLength());
        var eval = InProcess.Run("eval", id, "--runs", swept.Runs, "--json");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.Matches(@"""confusion"": \[\s*\[\d+, \d+\],\s*\[\d+, \d+\]\s*\]", eval.Stdout);
    }

    [Fact]
    public void An_attempt_a_resume_replaced_is_marked_and_left_out_of_comparisons()
    {
        using var dir = new TempDir();
        var store = new SweepStore(dir.File("runs"));
        var sweep = NewSweep.Plan(dir.Write("rd.yaml", Xor.Replace("repeats: 2", "repeats: 1")), []).Create(store, "local", null, DateTimeOffset.UtcNow);
        Assert.Equal(0, InProcess.Run("sweep", "--resume", sweep.Id, "--runs", dir.File("runs")).ExitCode);
        // Pretend trial 0 was killed, then resume: it runs again and its first folder is superseded.
        var first = store.Read(sweep.Id).Trials[0];
        store.Append(store.Read(sweep.Id), [new SweepEvent { Trial = first with { Status = RunStatus.Killed } }]);
        Assert.Equal(0, InProcess.Run("sweep", "--resume", sweep.Id, "--runs", dir.File("runs")).ExitCode);
        Assert.StartsWith($"sweep {sweep.Id} trial 0", RunFolder.Open(store.RunDirOf(first)!).ReadRecord()!.SupersededBy);
        var compare = InProcess.Run("compare", dir.File("runs"), "--runs", dir.File("runs"), "--format", "csv");
        Assert.Equal(5, Lines(compare.Stdout).Length); // header + the four current attempts
        Assert.Contains("1 earlier attempt of sweep trials run again left out", compare.Stderr);
        Assert.Contains("(superseded)", InProcess.Run("list", "--runs", dir.File("runs")).Stdout);
    }

    [Fact]
    public void Init_writes_a_starter_experiment_and_says_what_to_run_next()
    {
        using var dir = new TempDir();
        var r = InProcess.Run("init", dir.File("study"), "--example", "fashion-mnist");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(File.ReadAllText(Repo.Experiments("fashion-mnist.yaml")), File.ReadAllText(dir.File("study/fashion-mnist.yaml")));
        Assert.Contains("exprunner data fetch fashion-mnist", r.Stderr);
        // The schema its first line names is beside it, and the list describes it by its own first comment.
        Assert.Equal(ExpRunner.Config.ConfigSchema.Json() + "\n", File.ReadAllText(dir.File("study/exprunner.schema.json")));
        var list = InProcess.Run("init", "--list");
        Assert.Contains("fashion-mnist  Fashion-MNIST", list.Stdout);
        Assert.DoesNotContain("yaml-language-server", list.Stdout);
        var again = InProcess.Run("init", dir.File("study"), "--example", "fashion-mnist");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--force overwrites it", again.Stderr);
        var wrong = InProcess.Run("init", "--example", "mnist-sdg");
        Assert.Contains("did you mean 'mnist-sgd'", wrong.Stderr);
        // An experiment that extends another brings it along, and the pair loads.
        var composed = InProcess.Run("init", dir.File("study"), "--example", "adam-mean-vs-sum");
        Assert.True(composed.ExitCode == 0, composed.ToString());
        Assert.Equal(File.ReadAllText(Repo.Experiments("mnist-sgd.yaml")), File.ReadAllText(dir.File("study/mnist-sgd.yaml")));
        Assert.Contains("exprunner data fetch mnist", composed.Stderr);
        var loaded = ExpRunner.Config.ConfigLoader.Load(dir.File("study/adam-mean-vs-sum.yaml")).Config;
        Assert.Equal(("adam", 100), (ExpRunner.Config.Optimizers.NameOf(loaded.Training.Optimizer), loaded.Training.BatchSize));
    }

    [Fact]
    public void Huge_numbers_are_written_compactly()
    {
        var col = new ExpRunner.Compare.Column("test_loss", ExpRunner.Compare.ColumnKind.Metric);
        Assert.Equal("5.897e+18", ExpRunner.Compare.Render.Number(5897388280998020000.0, "test_loss"));
        Assert.Equal("0.0421", ExpRunner.Compare.Render.Number(0.04212, "test_loss"));
        Assert.Equal("3", ExpRunner.Compare.Render.Number(3, "epochs_run"));
        Assert.Equal("-", ExpRunner.Compare.Render.Text(null, col));
    }
}
