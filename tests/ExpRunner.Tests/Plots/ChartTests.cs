using System.Xml.Linq;
using ExpRunner.Plots;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Plots;

/// <summary>
/// Charts checked by their structure (series, scales, bands, legend), against kept examples in
/// Fixtures/ — rendered SVGs to look at, whose structure a fresh rendering must match.
/// </summary>
public class ChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static List<MetricRow> Run(Func<int, double> loss, Func<int, double> acc, int epochs = 30) => Enumerable.Range(1, epochs).SelectMany(e => new[]
    {
        new MetricRow(e, "train", e, loss(e) * 1.05, acc(e) - 0.01, 0.1, 1, e * 1000L),
        new MetricRow(e, "test", e, loss(e), acc(e), 0.1, 1, e * 1000L),
    }).ToList();

    /// <summary>What a chart shows: per panel its scale and series (label, =twin), its bands, and the legend's texts.</summary>
    private static string Structure(string svg)
    {
        var doc = XDocument.Parse(svg);
        var panels = doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "panel").Select(p =>
            $"panel {p.Attribute("data-title")!.Value} {p.Attribute("data-scale")!.Value}: " +
            string.Join("; ", p.Elements().Where(e => (string?)e.Attribute("class") == "series")
                .Select(e => e.Attribute("data-label")!.Value + (e.Attribute("data-equals") is { } eq ? " = " + eq.Value : ""))) +
            $" | bands {p.Elements(Svg + "polygon").Count(e => (string?)e.Attribute("class") == "band")}");
        var legend = doc.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "legend").Elements(Svg + "text").Select(t => "legend " + t.Value);
        return string.Join("\n", panels.Concat(legend)) + "\n";
    }

    /// <summary>A fresh rendering has the structure of the kept example; a missing example is written for review and the test fails.</summary>
    private static void Approved(string name, string svg)
    {
        string dir = Path.Combine(Repo.Root, "tests", "ExpRunner.Tests", "Plots", "Fixtures"), path = Path.Combine(dir, name + ".svg");
        if (!File.Exists(path))
        {
            File.WriteAllText(Path.Combine(dir, name + ".received.svg"), svg);
            Assert.Fail($"no approved chart {path}: look at {name}.received.svg and rename it to approve it");
        }
        Assert.Equal(Structure(File.ReadAllText(path)), Structure(svg));
    }

    [Fact]
    public void Curves_that_coincide_are_told_apart_and_groups_show_their_spread()
    {
        var a1 = Run(e => 0.5 / e + 0.05, e => 0.9 - 0.5 / e);
        var a2 = Run(e => 0.52 / e + 0.05, e => 0.91 - 0.5 / e);
        var low = Run(e => 0.45, e => 0.15 + e / 300.0);
        string svg = LearningCurves.Overlay("mean vs sum", [
            ("reduction=mean learning_rate=1 (n=2)", [a1, a2]), ("reduction=sum learning_rate=0.01 (n=2)", [a1.ToList(), a2.ToList()]),
            ("reduction=mean learning_rate=0.01 (n=1)", [low])]);
        string structure = Structure(svg);
        Assert.Contains("reduction=sum learning_rate=0.01 (n=2) (test) = reduction=mean learning_rate=1 (n=2) (test)", structure);
        Assert.Contains("legend reduction=sum learning_rate=0.01 (n=2) (test) (= reduction=mean learning_rate=1 (n=2) (test))", structure);
        Assert.Contains("linear: ", structure);
        Assert.Contains("| bands 4", structure); // two groups of two runs, test and train
        Approved("groups-with-twins", svg);
        // Only the runs that are the same are marked so: the third, different group is no one's twin.
        Assert.DoesNotContain("reduction=mean learning_rate=0.01 (n=1) (test) =", structure);
        Assert.DoesNotContain("= reduction=mean learning_rate=0.01 (n=1)", structure);
    }

    [Fact]
    public void A_loss_that_explodes_puts_the_loss_axis_on_a_log_scale_and_keeps_the_others_visible()
    {
        string svg = LearningCurves.Overlay("one exploding", [
            ("a", [Run(e => 0.5 / e + 0.05, e => 0.9 - 0.5 / e)]), ("b", [Run(e => Math.Pow(10, e / 1.5), e => 0.1)])]);
        string structure = Structure(svg);
        Assert.Contains("panel Loss log:", structure);
        Assert.Contains("panel Accuracy linear:", structure);
        Assert.Contains("1e+19", svg); // tick labels compact, not 10000000000000000000
        Approved("exploding-loss", svg);
    }

    [Fact]
    public void More_runs_than_colours_are_all_drawn_and_labels_are_never_cut()
    {
        var entries = Enumerable.Range(0, 14).Select(i => ($"run{i:00} training.learning_rate={0.001 * (i + 1):0.000} model.layers.0.units={10 + i}",
            (IReadOnlyList<IReadOnlyList<MetricRow>>)[Run(e => 1.0 / (e + i), e => 0.5 + i / 100.0 + e / 1000.0)])).ToList();
        string svg = LearningCurves.Overlay("fourteen runs", entries);
        var doc = XDocument.Parse(svg);
        Assert.Equal("14", doc.Root!.Attribute("data-series")!.Value); // the judged split only: train left out beyond six runs
        var legend = doc.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "legend").Elements(Svg + "text").Select(t => t.Value).ToList();
        Assert.Equal(entries.Select(e => e.Item1 + " (test)"), legend);
        var firstPanel = doc.Descendants(Svg + "g").First(g => (string?)g.Attribute("class") == "panel");
        var strokes = firstPanel.Elements(Svg + "polyline").Where(p => (string?)p.Attribute("class") == "series")
            .Select(p => (p.Attribute("stroke")!.Value, (string?)p.Attribute("stroke-dasharray") ?? "")).ToList();
        Assert.Equal(14, strokes.Count);
        Assert.Equal(14, strokes.Distinct().Count()); // each curve its own pair of colour and dash
        Assert.Single(doc.Descendants(Svg + "polyline").Where(p => (string?)p.Attribute("class") == "series").Select(p => p.Attribute("stroke-width")!.Value).Distinct());
        Approved("fourteen-runs", svg);
    }
}

/// <summary>Long per-step series are drawn from their lowest and highest point of every pixel column: no spike is lost.</summary>
public class EnvelopeTests
{
    [Fact]
    public void A_single_spike_among_fifty_thousand_steps_survives_decimation()
    {
        var rng = new ExpRunner.Nn.Rng(7);
        var points = Enumerable.Range(1, 50_000).Select(i => ((double)i, 0.5 + 0.01 * rng.NextDouble())).ToList();
        points[31_336] = (31_337, 50.0);  // one step's loss blows up
        points[40_000] = (40_001, 0.001); // and one dips
        var drawn = Envelope.MinMax(points);
        Assert.True(drawn.Count <= 2 * Envelope.Columns, $"{drawn.Count} points");
        Assert.Contains((31_337.0, 50.0), drawn);
        Assert.Contains((40_001.0, 0.001), drawn);
        Assert.Equal(drawn.OrderBy(p => p.X), drawn); // still in step order
        Assert.Equal(points.Max(p => p.Item2), drawn.Max(p => p.Y));
        Assert.Equal(points.Min(p => p.Item2), drawn.Min(p => p.Y));
        // Short series are drawn as they are.
        Assert.Equal(points.Take(100), Envelope.MinMax(points.Take(100).ToList()));
    }

    [Fact]
    public void A_run_leaves_a_chart_of_every_step_beside_its_epoch_curves()
    {
        using var dir = new TempDir();
        var run = ExpRunner.ExperimentRunner.Run(ExpRunner.Config.ConfigLoader.Parse("""
            name: sc
            dataset: { name: xor, samples: 1250 }
            model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { learning_rate: 0.05, batch_size: 2, epochs: 20 }
            """, "sc.yaml"), new RunOptions { RunsRoot = dir.File("runs"), Cancel = TestContext.Current.CancellationToken });
        var doc = XDocument.Parse(File.ReadAllText(run.Folder.PathOf(RunFolder.StepCurvesFile)));
        XNamespace svg = "http://www.w3.org/2000/svg";
        var panels = doc.Descendants(svg + "g").Where(g => (string?)g.Attribute("class") == "panel").Select(g => g.Attribute("data-title")!.Value).ToList();
        Assert.Equal(["Loss per step", "Accuracy per step", "Learning rate"], panels);
        var loss = doc.Descendants(svg + "polyline").First(p => (string?)p.Attribute("class") == "series");
        int drawn = loss.Attribute("points")!.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.InRange(drawn, Envelope.Columns, 2 * Envelope.Columns); // 10,000 steps, two points a column at most
    }
}
