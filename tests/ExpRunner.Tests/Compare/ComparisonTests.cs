using System.Globalization;
using ExpRunner.Compare;

namespace ExpRunner.Tests.Compare;

public class ComparisonTests
{
    private static RunRow Run(string id, string reduction, string lr, double acc, double loss, string status = "FINISHED", int seed = 1) =>
        new(id, "e", status, "/nowhere/" + id, null,
            new Dictionary<string, string> { ["training.gradient_reduction"] = reduction, ["training.learning_rate"] = lr, ["seed"] = seed.ToString(CultureInfo.InvariantCulture), ["model.layers.0.units"] = "20" },
            new Dictionary<string, double> { ["test_accuracy"] = acc, ["test_loss"] = loss, ["epochs_run"] = 30 });

    private static readonly RunRow[] Runs =
    [
        Run("a", "mean", "0.01", 0.17, 0.45), Run("b", "mean", "0.01", 0.19, 0.44, seed: 2),
        Run("c", "sum", "0.01", 0.90, 0.09), Run("d", "sum", "0.01", 0.92, 0.08, seed: 2),
        Run("e", "sum", "1", 0.10, 0.50, status: "DIVERGED"),
    ];

    [Theory]
    [InlineData("metrics.test_accuracy > 0.8", "c,d")]
    [InlineData("metrics.test_accuracy > 0.8 or params.training.gradient_reduction = 'mean'", "a,b,c,d")]
    [InlineData("params.training.gradient_reduction = 'sum' and (metrics.test_loss < 0.085 or attributes.status = 'DIVERGED')", "d,e")]
    [InlineData("params.training.learning_rate >= 0.5", "e")]
    [InlineData("params.training.learning_rate = 1.0", "e")]
    [InlineData("attributes.status != 'FINISHED'", "e")]
    [InlineData("attributes.status IN ('DIVERGED', 'FAILED')", "e")]
    [InlineData("attributes.status NOT IN ('DIVERGED')", "a,b,c,d")]
    [InlineData("params.training.gradient_reduction LIKE 's%'", "c,d,e")]
    [InlineData("attributes.run_id ILIKE 'A'", "a")]
    [InlineData("metrics.missing > 0", "")]
    public void Filters_follow_mlflow_search_syntax_with_or_and_parentheses(string filter, string expected)
    {
        var f = Filter.Parse(filter);
        Assert.Equal(expected, string.Join(",", Runs.Where(f.Matches).Select(r => r.Id)));
    }

    [Theory]
    [InlineData("metrics.test_accuracy >> 0.8", 23)]
    [InlineData("metrics.test_accuracy > 0.8 and", 31)]
    [InlineData("(metrics.test_accuracy > 0.8", 28)]
    [InlineData("accuracy > 0.8", 0)]
    [InlineData("params.x = 'unterminated", 11)]
    [InlineData("metrics.test_accuracy = 'high'", 24)]
    public void A_malformed_filter_points_at_the_offending_position(string filter, int position)
    {
        var e = Assert.Throws<FilterException>(() => Filter.Parse(filter));
        Assert.Equal(position, e.Position);
        Assert.EndsWith(new string(' ', position) + "^", e.Pointer);
    }

    [Fact]
    public void Columns_show_only_parameters_that_differ_then_metrics_and_status()
    {
        var c = Comparison.Build(Runs, new ComparisonOptions());
        var names = c.Columns.Select(x => x.Key).ToList();
        Assert.Contains("params.training.learning_rate", names);
        Assert.DoesNotContain("params.model.layers.0.units", names);
        Assert.Equal("attributes.status", names[^1]);
        Assert.Contains("params.model.layers.0.units", Comparison.Build(Runs, new ComparisonOptions { AllParams = true }).Columns.Select(x => x.Key));
    }

    [Fact]
    public void Groups_aggregate_their_runs_as_mean_std_and_count()
    {
        var c = Comparison.Build(Runs, new ComparisonOptions { GroupBy = ["training.gradient_reduction", "training.learning_rate"] });
        Assert.Equal(3, c.Rows.Count);
        var sum = c.Rows.Single(r => r.Label == "sum, 0.01").Cells["metrics.test_accuracy"];
        Assert.Equal(0.91, sum.Value!.Value, 12);
        Assert.Equal(Math.Sqrt(0.0002), sum.Std!.Value, 12);
        Assert.Equal(2, sum.N);
        Assert.True(sum.Best);
        Assert.True(c.Rows.Single(r => r.Label == "sum, 0.01").Cells["metrics.test_loss"].Best); // lowest loss is best
        Assert.Equal("1 DIVERGED", c.Rows.Single(r => r.Label == "sum, 1").Cells["attributes.status"].Text);
    }

    [Fact]
    public void Sorting_and_baseline_deltas()
    {
        var c = Comparison.Build(Runs, new ComparisonOptions { Sort = "metrics.test_accuracy", Descending = true, Baseline = Runs[0] });
        Assert.Equal("d,c,b,a,e", string.Join(",", c.Rows.Select(r => r.Label)));
        Assert.Equal(0.92 - 0.17, c.Rows[0].Cells["metrics.test_accuracy"].Delta!.Value, 12);
        Assert.Throws<CompareException>(() => Comparison.Build(Runs, new ComparisonOptions { Sort = "metrics.nope" }));
    }

    [Fact]
    public void Renderers_write_invariant_numbers_under_a_decimal_comma_culture()
    {
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            var c = Comparison.Build(Runs, new ComparisonOptions { GroupBy = ["training.gradient_reduction"] });
            string md = Render.Markdown(c);
            Assert.Contains("| training.gradient_reduction | test_accuracy |", md);
            // (0.90, 0.92, 0.10): mean 0.64, sample std 0.46776; 95% CI half-width t(0.975, 2) · s/√3 = 4.30265 · 0.27006 = 1.1620
            Assert.Contains("| sum | **0.6400 ± 1.1620 (3)** |", md);
            // (0.17, 0.19): mean 0.18, s = 0.01414; t(0.975, 1) · s/√2 = 12.7062 · 0.01 = 0.1271
            Assert.Contains("| mean | 0.1800 ± 0.1271 (2) |", md);
            Assert.Contains("_groups: mean ± half-width of the 95% confidence interval_", md);
            string csv = Render.Csv(c);
            Assert.StartsWith("group,training.gradient_reduction,test_accuracy,test_accuracy_std,test_accuracy_n", csv);
            Assert.Contains("mean,mean,0.18,", csv);
            Assert.DoesNotContain("0,18", csv);
            using var doc = System.Text.Json.JsonDocument.Parse(Render.Json(c));
            Assert.Equal(2, doc.RootElement.GetProperty("rows").GetArrayLength());
        }
        finally { CultureInfo.CurrentCulture = saved; }
    }

    [Theory]
    [InlineData("metrics.test_acc > 0.8", "no run has a metric 'test_acc' (did you mean 'test_accuracy'?) at position 1")]
    [InlineData("metrics.test_accuracy > 0.8 and params.learning_rate = 1", "no run has a param 'learning_rate' (did you mean 'training.learning_rate'?) at position 33")]
    [InlineData("attributes.stauts = 'FINISHED'", "unknown attribute 'stauts'; one of status, run_id, id, experiment, run_name (did you mean 'status'?) at position 1")]
    public void A_filter_naming_something_no_run_has_is_an_error_not_an_empty_table(string filter, string message)
    {
        var e = Assert.Throws<FilterException>(() => Comparison.Build(Runs, new ComparisonOptions { Filter = Filter.Parse(filter) }));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Grouping_or_sorting_by_a_key_no_run_has_is_an_error_with_a_did_you_mean()
    {
        var group = Assert.Throws<CompareException>(() => Comparison.Build(Runs, new ComparisonOptions { GroupBy = ["learning_rate"] }));
        Assert.Equal("cannot group by 'learning_rate': no run has that param (did you mean 'training.learning_rate'?)", group.Message);
        var sort = Assert.Throws<CompareException>(() => Comparison.Build(Runs, new ComparisonOptions { Sort = "metrics.test_acc" }));
        Assert.StartsWith("cannot sort by 'metrics.test_acc': no such column (did you mean 'metrics.test_accuracy'?)", sort.Message);
    }

    [Fact]
    public void Parentheses_nested_too_deep_are_an_error_not_a_stack_overflow()
    {
        var e = Assert.Throws<FilterException>(() => Filter.Parse(new string('(', 50_000) + "metrics.test_accuracy > 0"));
        Assert.StartsWith($"parentheses nested deeper than {Filter.MaxDepth}", e.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_like_pattern_matches_in_time_linear_in_the_text_whatever_the_pattern()
    {
        // %a%a…%a%b against a long run of a's backtracks exponentially in a backtracking matcher.
        string pattern = string.Concat(Enumerable.Repeat("%a", 40)) + "%b";
        var row = Run(new string('a', 5000), "sum", "0.01", 0.9, 0.1);
        var f = Filter.Parse($"attributes.run_id LIKE '{pattern}'");
        Assert.False(await Task.Run(() => f.Matches(row), TestContext.Current.CancellationToken));
        Assert.True(Filter.Parse("attributes.run_id LIKE '%a%a%'").Matches(row));
    }

    [Fact]
    public void Ilike_ignores_case_the_same_way_in_every_culture()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("tr-TR"); // where 'I' lowercases to dotless 'ı'
            var f = Filter.Parse("attributes.status ILIKE 'finished'");
            Assert.Equal("a,b,c,d", string.Join(",", Runs.Where(f.Matches).Select(r => r.Id)));
        }
        finally { CultureInfo.CurrentCulture = saved; }
    }
}
