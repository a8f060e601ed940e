using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>At 80, 120 and 160 columns: the keys a user swept or grouped by stay, the run id gives way first, and ± says what it is.</summary>
public class NarrowTerminalTests
{
    private static (TempDir Dir, string Runs) Sweep()
    {
        var dir = new TempDir();
        var r = InProcess.Run("sweep", dir.Write("narrow.yaml", """
            name: narrow
            seed: 3
            dataset: { name: xor, samples: 200 }
            model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { learning_rate: 0.5, batch_size: 20, epochs: 3 }
            sweep:
              grid: { training.gradient_reduction: [mean, sum], training.learning_rate: [0.05, 1.0] }
              repeats: 2
            """), "--runs", dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        return (dir, dir.File("runs"));
    }

    private static CliResult At(int width, params string[] args) => InProcess.Run(new InProcess.Terminal(Width: width, OutTerminal: true), null, args);

    [Fact]
    public void Compare_keeps_what_was_swept_or_grouped_and_gives_the_run_id_way_first()
    {
        var (dir, runs) = Sweep();
        using var _ = dir;
        foreach (int width in new[] { 80, 120, 160 })
        {
            var grouped = At(width, "compare", "--runs", runs, "--sweep", "latest", "--group-by", "training.gradient_reduction,training.learning_rate");
            Assert.True(grouped.ExitCode == 0, grouped.ToString());
            var lines = grouped.Stdout.Split('\n');
            Assert.All(lines, l => Assert.True(l.Length <= width, $"{width}: {l.Length} columns: {l}"));
            // A grouped key's header is never cut: at worst broken over two lines at its underscore.
            string header = string.Join(" ", lines.Skip(1).Take(2));
            Assert.True(header.Contains("gradient_reduction", StringComparison.Ordinal) || (header.Contains("gradient_", StringComparison.Ordinal) && header.Contains("reduction", StringComparison.Ordinal)), $"{width}: {header}");
            Assert.DoesNotContain("gradie…", grouped.Stdout);
            Assert.Contains("groups: mean ± half-width of the 95% confidence interval", System.Text.RegularExpressions.Regex.Replace(grouped.Stdout, @"\s+", " "));

            var single = At(width, "compare", "--runs", runs, "--sweep", "latest");
            Assert.True(single.ExitCode == 0, single.ToString());
            Assert.Contains("gradient_reduction", single.Stdout); // swept: never dropped
            Assert.Contains("learning_rate", single.Stdout);
            if (width == 80) Assert.Matches(@"│ …[0-9a-f]{6} │", single.Stdout); // the id's tail, not its 22 characters
        }
        // The tail a narrow table shows finds the run.
        var narrow = At(80, "compare", "--runs", runs, "--sweep", "latest");
        string tail = System.Text.RegularExpressions.Regex.Match(narrow.Stdout, @"…([0-9a-f]{6})").Groups[1].Value;
        var show = InProcess.Run("show", "…" + tail, "--runs", runs);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains(tail, show.Stdout);
    }

    [Fact]
    public void A_baseline_group_is_found_however_its_numbers_are_written_and_list_keeps_the_experiment()
    {
        var (dir, runs) = Sweep();
        using var _ = dir;
        foreach (var baseline in new[] { "mean,1.0", "mean, 1", "MEAN,1.00" })
        {
            var r = InProcess.Run("compare", "--runs", runs, "--sweep", "latest", "--group-by", "training.gradient_reduction,training.learning_rate", "--baseline", baseline);
            Assert.True(r.ExitCode == 0, $"--baseline {baseline}: {r}");
            Assert.Contains("(baseline)", r.Stdout);
        }
        // Piped: every run and column, plain and aligned (what a script or a file takes), written as it is made.
        var piped = InProcess.Run("list", "--runs", runs);
        var pipedLines = piped.Stdout.TrimEnd().Split('\n');
        Assert.StartsWith("run ", pipedLines[0]);
        Assert.Equal(8 + 1, pipedLines.Length);                  // the header and the sweep's eight runs
        Assert.DoesNotContain("│", piped.Stdout);
        Assert.All(pipedLines.Skip(1), l => Assert.Equal(pipedLines[0].IndexOf("experiment", StringComparison.Ordinal), l.IndexOf("narrow", StringComparison.Ordinal)));
        var list = At(80, "list", "--runs", runs);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("narrow", list.Stdout);           // the experiment stays at 80 columns
        Assert.Matches(@"│ …[0-9a-f]{6} │", list.Stdout); // the run id gives way
    }
}
