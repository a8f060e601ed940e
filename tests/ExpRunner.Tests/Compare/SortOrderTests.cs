using ExpRunner.Cli.Ui;
using ExpRunner.Compare;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Compare;

/// <summary>compare and the UI sort runs the same way: numbers as numbers, a NaN after every number, a missing value last, in both directions.</summary>
public class SortOrderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Compare_and_the_ui_put_runs_in_one_order_with_nan_and_missing_values_last(bool descending)
    {
        using var dir = new TempDir();
        string root = dir.File("runs");
        double?[] losses = [0.5, double.NaN, null, 0.25, 2.0, double.NaN, null, 1.0];
        var ids = new List<string>();
        for (int i = 0; i < losses.Length; i++)
        {
            var run = RunIndexTests.MakeRun(root, "s", i);
            var summary = run.ReadSummary()!;
            var final = new Dictionary<string, double>(summary.Final);
            if (losses[i] is double l) final["test_loss"] = l; else final.Remove("test_loss");
            run.WriteSummary(summary with { Final = final });
            ids.Add(run.Id);
        }
        var rows = RunFolder.FindAll(root).Select(RunRow.Load).OfType<RunRow>().ToList();
        var compared = Comparison.Build(rows, new ComparisonOptions { Sort = "metrics.test_loss", Descending = descending, AllParams = true })
            .Rows.Select(r => r.Runs.Single().Id).ToList();
        var ui = new UiData(root, dir.File("cache"), TimeProvider.System);
        var shown = ui.Runs(new RunsQuery(null, "metrics.test_loss", descending, [])).Rows.Select(r => r.Id).ToList();
        Assert.Equal(compared, shown);
        // The numbers in order, then the NaNs, then the runs without the metric.
        var numbers = losses.Select((l, i) => (l, i)).Where(x => x.l is double d && !double.IsNaN(d)).OrderBy(x => descending ? -x.l!.Value : x.l!.Value).Select(x => ids[x.i]);
        Assert.Equal(numbers, shown.Take(4));
        Assert.Equal([ids[1], ids[5]], shown.Skip(4).Take(2).Order(StringComparer.Ordinal));
        Assert.Equal([ids[2], ids[6]], shown.Skip(6).Order(StringComparer.Ordinal));
    }
}
