using System.Globalization;
using System.Text.Json.Nodes;
using ExpRunner.Compare;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Cli;

/// <summary>
/// More runs than same_config marks are made for (5,000): compare over every run answers from where the
/// index holds them — the same text as comparing the runs' rows, which a filter matching every run forces.
/// </summary>
public class ManyRunsTests
{
    [Fact]
    public void Compare_of_every_run_answers_from_the_index_what_comparing_their_rows_answers()
    {
        using var dir = new TempDir();
        string runs = dir.File("runs"), cache = dir.File("cache");
        // One real run's record and summary, copied with other ids, params and metrics (as a busy runs directory has them).
        var seed = InProcess.Run("run", Repo.Experiments("xor.yaml"), "--runs", dir.File("seed"), "--set", "training.epochs=1", "-q");
        Assert.True(seed.ExitCode == 0, seed.ToString());
        string seedDir = Directory.GetDirectories(Path.Combine(dir.File("seed"), "xor")).Single();
        string record = File.ReadAllText(Path.Combine(seedDir, "run.json")), summary = File.ReadAllText(Path.Combine(seedDir, "summary.json"));
        var rng = new Random(3);
        int n = Comparison.MarkedRuns + 120;
        for (int i = 0; i < n; i++)
        {
            string id = $"20260301-{i / 60 % 60:00}{i % 60:00}00-{i:x6}", exp = "m" + (i % 3);
            var r = JsonNode.Parse(record)!.AsObject();
            var s = JsonNode.Parse(summary)!.AsObject();
            (r["id"], s["id"]) = (id, id);
            (r["experiment"], s["experiment"]) = (exp, exp);
            r["started"] = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(i / 3).ToString("O", CultureInfo.InvariantCulture); // three runs a second
            if (i % 97 == 0) r["superseded_by"] = "again";
            s["params"]!["training.learning_rate"] = new[] { "0.01", "0.1", "1.0" }[rng.Next(3)];
            s["params"]!["training.gradient_reduction"] = rng.Next(2) == 0 ? "mean" : "sum";
            s["params"]!["seed"] = i.ToString(CultureInfo.InvariantCulture);
            s["final"]!["test_accuracy"] = Math.Round(rng.NextDouble(), 4);
            string folder = Path.Combine(runs, exp, id);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "run.json"), r.ToJsonString());
            File.WriteAllText(Path.Combine(folder, "summary.json"), s.ToJsonString());
        }
        var env = new Dictionary<string, string> { ["XDG_CACHE_HOME"] = cache };
        string everyRun = "attributes.status LIKE '%'"; // a filter: the runs' rows are read and compared
        foreach (var args in new[]
        {
            new[] { "--format", "csv" },
            ["--group-by", "training.gradient_reduction,training.learning_rate", "--format", "csv"],
            ["--group-by", "training.learning_rate", "--sort", "metrics.test_accuracy desc"],
            ["--group-by", "training.learning_rate", "--format", "markdown", "--all-attempts"],
        })
        {
            var fromIndex = InProcess.Run(env, ["compare", "--runs", runs, .. args]);
            var fromRows = InProcess.Run(env, ["compare", "--runs", runs, "--filter", everyRun, .. args]);
            Assert.True(fromIndex.ExitCode == 0, fromIndex.ToString());
            Assert.True(fromRows.ExitCode == 0, fromRows.ToString());
            Assert.Equal(fromRows.Stdout, fromIndex.Stdout);
            Assert.Equal(fromRows.Stderr, fromIndex.Stderr); // the note on earlier attempts left out, alike
            Assert.Contains(args.Contains("--all-attempts") ? "" : "earlier attempts of sweep trials", fromIndex.Stderr);
        }
        var typo = InProcess.Run(env, "compare", "--runs", runs, "--group-by", "training.learning_rat");
        Assert.Equal(2, typo.ExitCode);
        Assert.Contains("did you mean", typo.Stderr + typo.Stdout);
    }
}
