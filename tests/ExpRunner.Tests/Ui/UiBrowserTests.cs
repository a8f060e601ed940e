using ExpRunner.Tracking;
using ExpRunner.Tests.Support;
using System.Text.Json;
using Microsoft.Playwright;

namespace ExpRunner.Tests.Ui;

/// <summary>The UI's pages in a real browser (Debian's Chromium): what a person sees, read back from the rendered DOM.</summary>
[Collection("ui")]
public class UiBrowserTests(UiFixture ui)
{
    private static readonly LocatorWaitForOptions Shown = new() { Timeout = 20_000 };

    private static async Task<string> Text(IPage page, string selector)
    {
        await page.Locator(selector).First.WaitForAsync(new LocatorWaitForOptions { Timeout = 2_000 });
        return await page.Locator(selector).First.InnerTextAsync();
    }

    /// <summary>Waits for the page to show something; if it never does, its screenshot is kept (failed-*.png) and the test fails.</summary>
    private static async Task Until(IPage page, Func<Task<bool>> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try { if (await condition()) return; }
            catch (TimeoutException) { }
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                await UiFixture.Shot(page, "failed-" + string.Concat(what.Where(char.IsLetterOrDigit)));
                Assert.Fail($"the page never showed {what}; it shows:\n{await page.Locator("main").InnerTextAsync()}");
            }
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task The_runs_page_lists_every_run_scrolls_virtually_and_filters_with_a_caret_under_a_mistake()
    {
        var (page, errors) = await ui.Open("/runs");
        // Every run folder there is (the fixture's, and those other tests of the page added before this one).
        int total = RunFolder.FindAll(ui.Runs).Count();
        await Until(page, async () => (await Text(page, "#count")).StartsWith($"{total:N0} runs", StringComparison.Ordinal), $"{total} runs");
        // Only what is on screen is in the page: a few dozen rows for thousands of runs.
        int rows = await page.Locator(".trow").CountAsync();
        Assert.InRange(rows, 10, 80);
        await UiFixture.Shot(page, "runs");
        // Every default column fits 1400 px; at 800 px the results still show (they come right after the run and its status).
        var last = await page.Locator(".thead > div").Last.BoundingBoxAsync();
        Assert.True(last!.X + last.Width <= 1400, $"the last column ends at {last.X + last.Width} px");
        await page.SetViewportSizeAsync(800, 900);
        var result = await page.Locator(".thead > div[data-key='metrics.test_accuracy']").BoundingBoxAsync();
        Assert.True(result!.X + result.Width <= 800, $"test accuracy ends at {result.X + result.Width} px");
        await UiFixture.Shot(page, "runs-800");
        await page.SetViewportSizeAsync(1400, 900);
        // Scrolled to the end, the oldest run is there.
        await page.Locator("#scroller").EvaluateAsync("s => s.scrollTop = s.scrollHeight");
        await page.Locator(".trow[data-id='20250601-000000-g00000']").WaitForAsync(Shown);

        // A filter in compare's language; the address keeps it.
        await page.Locator("input.filter").FillAsync("metrics.test_accuracy > 0.85 and params.training.gradient_reduction = 'sum'");
        await Until(page, async () => (await Text(page, "#count")).Contains(" of ", StringComparison.Ordinal), "the filtered count");
        int expected = Enumerable.Range(0, UiFixture.Generated).Count(i => i / 4 % 2 == 1 && 0.5 + (i % 100) / 250.0 > 0.85);
        Assert.StartsWith($"{expected:N0} of {total:N0} runs", await Text(page, "#count"));
        Assert.Contains("filter=metrics.test_accuracy", Uri.UnescapeDataString(page.Url));
        foreach (var id in await page.Locator(".trow[data-id]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.id)"))
        {
            int i = int.Parse(id[^5..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(i / 4 % 2 == 1 && 0.5 + (i % 100) / 250.0 > 0.85, id);
        }

        // A mistake is shown under its place, with a did-you-mean.
        await page.Locator("input.filter").FillAsync("metrics.test_acuracy > 0.85");
        string problem = await Text(page, "#filter-error");
        var lines = problem.Split('\n');
        Assert.Equal("metrics.test_acuracy > 0.85", lines[0]);
        Assert.Equal("^", lines[1]);
        Assert.Contains("did you mean 'test_accuracy'", problem);
        await page.Locator("input.filter").FillAsync("metrics.test_accuracy >> 0.85");
        await Until(page, async () => (await Text(page, "#filter-error")).Split('\n')[1] == new string(' ', 23) + "^", "the caret under the second '>'");
        await UiFixture.Shot(page, "runs-filter-error");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Grouping_shows_mean_spread_and_count_and_the_state_is_in_the_address()
    {
        var (page, errors) = await ui.Open("/runs?filter=" + Uri.EscapeDataString("attributes.experiment = 'generated'") + "&group=training.gradient_reduction,training.learning_rate");
        await Until(page, async () => (await Text(page, "#count")).StartsWith("8 groups of 3,000 runs", StringComparison.Ordinal), "8 groups");
        var groups = await page.Locator(".trow[data-group]").AllInnerTextsAsync();
        Assert.Equal(8, groups.Count);
        var sum002 = Assert.Single(groups, g => g.Contains("sum") && g.Contains("0.02"));
        Assert.Contains("375", sum002); // n: 3000 runs / 8 groups
        Assert.Contains("±", sum002);
        await UiFixture.Shot(page, "runs-grouped");
        // Select two groups and compare them.
        await page.Locator(".trow[data-group] input").Nth(0).CheckAsync();
        await page.Locator(".trow[data-group] input").Nth(1).CheckAsync();
        Assert.Contains("sel=", page.Url);
        await page.Locator("#compare-selected").ClickAsync();
        await page.Locator("#final-table").WaitForAsync(Shown);
        Assert.Equal(2, await page.Locator("#final-table tbody tr").CountAsync());
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_run_page_shows_its_record_curves_confusion_matrix_and_misclassified_digits()
    {
        var (page, errors) = await ui.Open("/runs");
        await page.Locator($".trow[data-id='{ui.MnistRun}'] a").ClickAsync();
        await Until(page, async () => (await Text(page, "#record")).Contains("seed", StringComparison.Ordinal), "the record");
        string record = await Text(page, "#record");
        Assert.Contains("git commit", record, StringComparison.Ordinal);
        Assert.Contains("sha256", record, StringComparison.Ordinal);
        var splits = File.ReadAllLines(Path.Combine(ui.Runs, "mnist-sgd", ui.MnistRun, "metrics.csv")).Skip(1).Select(l => l.Split(',')[1]).Distinct().Count();
        Assert.Equal(splits.ToString(System.Globalization.CultureInfo.InvariantCulture), await page.Locator("#run-chart").GetAttributeAsync("data-series"));
        Assert.Equal(2, await page.Locator("#metrics-table tbody tr").CountAsync()); // 2 epochs
        await page.Locator("#confusion").WaitForAsync(Shown);
        Assert.Equal(11, await page.Locator("#confusion tr").CountAsync()); // header and ten digits
        await page.Locator("#gallery img").First.WaitForAsync(Shown);
        await Until(page, async () => await page.Locator("#gallery img").First.EvaluateAsync<int>("i => i.complete ? i.naturalWidth : 0") == 56, "a digit image");
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(ui.Runs, "mnist-sgd", ui.MnistRun, "summary.json")));
        double accuracy = summary.RootElement.GetProperty("final").GetProperty("test_accuracy").GetDouble();
        Assert.Contains($"accuracy {accuracy.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)}", await Text(page, "#evaluation"));
        Assert.Contains("log.txt", await Text(page, "#files"));
        // The headline first; the matrix says whose weights it is of; the log opens at its end.
        Assert.Contains($"{accuracy.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)} test accuracy", await Text(page, "#headline"));
        Assert.Contains("Of the saved weights: those of epoch 2, as in the metrics.", await Text(page, "#evaluation-note"));
        Assert.True(await page.Locator("#log").EvaluateAsync<bool>("l => l.scrollTop + l.clientHeight >= l.scrollHeight - 1"), "the log is scrolled to its end");
        await UiFixture.Shot(page, "run");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_sweep_watched_while_it_runs_never_flashes_an_error_and_ends_as_a_fresh_look_shows_it()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        string config = Path.Combine(ui.Runs, "..", "watched.yaml");
        File.WriteAllText(config, UiFixture.ProbedConfig.Replace("name: xor-probed", "name: xor-watched").Replace("epochs: 20", "epochs: 150").Replace("probes: {}", "")
            + "\nsweep: { grid: { training.learning_rate: [0.1, 0.5] }, repeats: 2 }\n");
        var sweep = Task.Run(() => InProcess.Run(new InProcess.Terminal(Cancel: stop.Token), null, "sweep", config, "--runs", ui.Runs, "--jobs", "1"), TestContext.Current.CancellationToken);
        var store = new ExpRunner.Sweeps.SweepStore(ui.Runs);
        string? id = null;
        await Until2(() => store.Ids().Select(store.Read).FirstOrDefault(x => x.Experiment == "xor-watched") is { } w && (id = w.Id) is not null, "the watched sweep");
        var (page, errors) = await ui.Open($"/sweep/{id}");
        await page.Locator("#trials-table").WaitForAsync(Shown);
        var seen = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!sweep.IsCompleted && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            seen.AddRange(await page.Locator(".error").AllInnerTextsAsync()); // an error shown at any moment is a failure
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        var result = await sweep;
        Assert.True(result.ExitCode == 0, result.ToString());
        await Until(page, async () => (await Text(page, "h1")).Contains("FINISHED", StringComparison.Ordinal), "the sweep's end");
        await Until(page, async () => await page.Locator("#parallel polyline").CountAsync() == 4, "every trial in the parallel coordinates");
        Assert.Empty(seen);
        string watchedTable = await Text(page, "#trials-table");
        string watchedSeries = (await page.Locator("#sweep-chart").GetAttributeAsync("data-series"))!;
        await UiFixture.Shot(page, "sweep-watched");
        var (fresh, freshErrors) = await ui.Open($"/sweep/{id}");
        await fresh.Locator("#parallel polyline").First.WaitForAsync(Shown);
        await fresh.Locator("#sweep-chart canvas").WaitForAsync(Shown);
        Assert.Equal(await Text(fresh, "#trials-table"), watchedTable);
        Assert.Equal(await fresh.Locator("#sweep-chart").GetAttributeAsync("data-series"), watchedSeries);
        Assert.Equal("2", watchedSeries); // two learning rates, their repeats as mean and band
        Assert.Empty(errors);
        Assert.Empty(freshErrors);
    }

    [Fact]
    public async Task A_runs_label_tags_and_note_are_edited_on_its_page_and_it_goes_to_the_trash_and_back()
    {
        var r = InProcess.Run("run", Path.Combine(ui.Runs, "..", "probed.yaml"), "--runs", ui.Runs, "--set", "name=xor-organize", "-q");
        Assert.True(r.ExitCode == 0, r.ToString());
        var folder = RunFolder.Open(r.Stdout.Split(' ')[1]);
        var (page, errors) = await ui.Open($"/run/{folder.Id}");
        await page.Locator("#meta-label").WaitForAsync(Shown);
        await page.Locator("#meta-label").FillAsync("first try with adam");
        await page.Locator("#meta-tags").FillAsync("stage=baseline, owner=ana");
        await page.Locator("#meta-note").FillAsync("lr *too* high?");
        await page.Locator("#meta-save").ClickAsync();
        await Until(page, async () => (await Text(page, "#meta-status")).StartsWith("saved", StringComparison.Ordinal), "the saved note");
        var meta = RunMeta.Read(folder); // in the folder first
        Assert.Equal(("first try with adam", "baseline", "ana", "lr *too* high?"), (meta.Label, meta.Tags["stage"], meta.Tags["owner"], meta.Note));
        await UiFixture.Shot(page, "run-meta");
        // The runs page finds it by its tag.
        var (runs, _) = await ui.Open("/runs?filter=" + Uri.EscapeDataString("tags.stage = 'baseline'"));
        await runs.Locator($".trow[data-id='{folder.Id}']").WaitForAsync(Shown);
        // To the trash (confirmed) and back.
        page.Dialog += async (_, d) => await d.AcceptAsync();
        await page.Locator("#run-trash").ClickAsync();
        await page.Locator("#trash-table").WaitForAsync(Shown);
        Assert.False(Directory.Exists(folder.Dir));
        await UiFixture.Shot(page, "trash");
        await page.Locator($"button[data-restore='{folder.Id}']").ClickAsync();
        await Until(page, async () => Directory.Exists(folder.Dir), "the run back in its folder");
        Assert.Equal("first try with adam", RunMeta.Read(folder).Label);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Compare_shows_the_effective_learning_rate_and_marks_one_configuration_run_twice()
    {
        var (page, errors) = await ui.Open("/compare?filter=" + Uri.EscapeDataString("attributes.experiment = 'xor-same'") + "&group=training.gradient_reduction,training.learning_rate");
        await page.Locator("#final-table").WaitForAsync(Shown);
        var rows = await page.Locator("#final-table tbody tr").EvaluateAllAsync<string[][]>("rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))");
        Assert.Equal(4, rows.Length);
        // reduction, lr, effective lr, same config: mean@1.0 and sum@0.05 are one configuration at B = 20.
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var marks = rows.ToDictionary(r => $"{r[0]}@{double.Parse(r[1], inv).ToString(inv)}", r => (Lr: r[2], Same: r[3]));
        Assert.Equal(("0.05", "≡a"), marks["mean@1"]);
        Assert.Equal(("0.05", "≡a"), marks["sum@0.05"]);
        Assert.Equal(("0.0025", ""), marks["mean@0.05"]);
        Assert.Equal(("1", ""), marks["sum@1"]);
        Assert.Contains("one configuration run twice", await Text(page, "#same-note"));
        await UiFixture.Shot(page, "compare-same");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task The_dynamics_tab_draws_every_step_and_each_layers_probes()
    {
        var (page, errors) = await ui.Open($"/run/{ui.ProbedRun}");
        await page.Locator("#tab-dynamics").ClickAsync();
        Assert.EndsWith("?tab=dynamics", page.Url);
        await page.Locator("#steps-chart canvas").WaitForAsync(Shown);
        await page.Locator("#probe-chart canvas").WaitForAsync(Shown);
        // 320 training points in batches of 10 for 20 epochs: 640 steps, every one recorded and probed.
        Assert.Contains("Every step (640 recorded)", await Text(page, "#dynamics"));
        Assert.Contains("Per layer (640 probed steps)", await Text(page, "#dynamics"));
        Assert.Equal("2", await page.Locator("#probe-chart").GetAttributeAsync("data-series")); // one line per layer
        string legend = await Text(page, "#probe-chart .u-legend");
        Assert.Contains("layer 0 · 6 tanh", legend);
        Assert.Contains("layer 1 · 1 sigmoid", legend);
        await page.Locator("#probe-metric").SelectOptionAsync("saturated");
        await Until(page, async () => (await Text(page, "#probe-chart .u-legend")).Contains("layer 0", StringComparison.Ordinal), "the saturated units' chart");
        await page.Locator("#probe-metric").SelectOptionAsync("weight.update_ratio");
        await UiFixture.Shot(page, "dynamics");
        await page.SetViewportSizeAsync(800, 900);
        await UiFixture.Shot(page, "dynamics-800");
        // The tab is in the address: opened again, the page starts on it.
        var (again, more) = await ui.Open($"/run/{ui.ProbedRun}?tab=dynamics");
        await again.Locator("#probe-chart canvas").WaitForAsync(Shown);
        Assert.Empty(errors);
        Assert.Empty(more);
    }

    [Fact]
    public async Task The_dynamics_tab_follows_a_run_while_it_trains()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var config = ExpRunner.Config.ConfigLoader.Parse(UiFixture.ProbedConfig.Replace("name: xor-probed", "name: xor-live").Replace("epochs: 20", "epochs: 100000"), "live.yaml");
        var training = Task.Run(() => ExpRunner.ExperimentRunner.Run(config, new ExpRunner.RunOptions { RunsRoot = ui.Runs, Cancel = stop.Token }), TestContext.Current.CancellationToken);
        try
        {
            string dir = Path.Combine(ui.Runs, "xor-live");
            string? id = null;
            await Until2(() => Directory.Exists(dir) && (id = Directory.GetDirectories(dir).Select(Path.GetFileName).FirstOrDefault()) is not null
                && File.Exists(Path.Combine(dir, id!, "steps.csv.gz")), "the live run's first steps");
            var (page, errors) = await ui.Open($"/run/{id}?tab=dynamics");
            await page.Locator("#probe-chart canvas").WaitForAsync(Shown);
            static long Recorded(string text)
            {
                // Between two updates the tab shows the steps so far, never an error (the record read while a member is appended).
                var m = System.Text.RegularExpressions.Regex.Match(text, @"Every step \(([\d,]+) recorded\)");
                Assert.True(m.Success, $"the dynamics tab of the live run shows no step count: {text[..Math.Min(300, text.Length)]}");
                return long.Parse(m.Groups[1].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture);
            }
            long first = Recorded(await Text(page, "#dynamics"));
            // The user zooms in (as a drag on the chart does); the next updates keep the zoom, and the chart.
            await page.EvaluateAsync("() => { const b = document.querySelector('#steps-chart'); b._plot.setScale('x', { min: 1, max: 5 }); b._zoomed = true; window.__plot = b._plot; }");
            await Until(page, async () => Recorded(await Text(page, "#dynamics")) > first, "more steps as the run trains");
            Assert.True(await page.EvaluateAsync<bool>("() => { const b = document.querySelector('#steps-chart'); return b._plot === window.__plot && b._plot.scales.x.min === 1 && b._plot.scales.x.max === 5; }"),
                "the zoomed chart kept its range through the update");
            Assert.Empty(errors);
        }
        finally
        {
            await stop.CancelAsync();
            var result = await training;
            Assert.Equal(ExpRunner.Tracking.RunStatus.Killed, result.Status);
        }
    }

    private static async Task Until2(Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) Assert.Fail($"never saw {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Compare_overlays_the_selected_runs_and_shows_what_differs()
    {
        var ids = ui.SweepRuns.Take(3).ToList();
        var (page, errors) = await ui.Open("/runs?filter=" + Uri.EscapeDataString("attributes.experiment = 'xor-ui'"));
        foreach (var id in ids) await page.Locator($".trow[data-id='{id}'] input").CheckAsync();
        Assert.Equal("Compare 3 runs", await page.Locator("#compare-selected").InnerTextAsync());
        await page.Locator("#compare-selected").ClickAsync();
        await page.Locator("#compare-chart canvas").WaitForAsync(Shown);
        Assert.Equal("3", await page.Locator("#compare-chart").GetAttributeAsync("data-series"));
        string legend = await Text(page, "#compare-chart .u-legend");
        Assert.All(ids, id => Assert.Contains(id, legend));
        string diff = await Text(page, "#diff-table");
        Assert.Contains("training.learning_rate", diff);
        Assert.Contains("0.05", diff);
        await page.Locator("#scale-log").ClickAsync();
        Assert.Contains("log=1", page.Url);
        // Every step of each run, beside the epochs.
        await page.Locator("#compare-steps-chart canvas").WaitForAsync(Shown);
        Assert.Equal("3", await page.Locator("#compare-steps-chart").GetAttributeAsync("data-series"));
        await UiFixture.Shot(page, "compare");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_sweep_shows_its_trials_parallel_coordinates_and_scatter()
    {
        var (page, errors) = await ui.Open("/sweeps");
        await page.Locator($"#sweeps-table a").First.WaitForAsync(Shown);
        Assert.Contains(ui.SweepId, await Text(page, "#sweeps-table"));
        await UiFixture.Shot(page, "sweeps");
        Assert.Equal("auto", await page.Locator("#sweeps-table").EvaluateAsync<string>("t => getComputedStyle(t.parentElement).overflowX")); // a narrow window scrolls it sideways
        await page.Locator($"#sweeps-table a[href='#/sweep/{ui.SweepId}']").ClickAsync(); // other tests start sweeps of their own
        await page.Locator("#trials-table").WaitForAsync(Shown);
        Assert.Equal(6, await page.Locator("#trials-table tbody tr").CountAsync());
        await page.Locator("#parallel polyline").First.WaitForAsync(Shown);
        Assert.Equal(6, await page.Locator("#parallel polyline").CountAsync());
        Assert.Equal(1, await page.Locator("svg.scatter").CountAsync()); // the one swept param (the repeats' seeds are not swept)
        // Two repeats of three learning rates: three curves, each the mean of its seeds with a band.
        Assert.Equal("3", await page.Locator("#sweep-chart").GetAttributeAsync("data-series"));
        Assert.Contains("(n=2)", await Text(page, "#sweep-chart .u-legend"));
        Assert.Contains("group=training.learning_rate", await page.Locator("#compare-link").GetAttributeAsync("href"));
        await UiFixture.Shot(page, "sweep");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_run_named_like_html_is_shown_as_text_and_runs_nothing()
    {
        var (page, errors) = await ui.Open("/runs?filter=" + Uri.EscapeDataString("attributes.run_id = '20250602-000000-hostil'"));
        await page.Locator(".trow[data-id='20250602-000000-hostil']").WaitForAsync(Shown);
        string row = await page.Locator(".trow[data-id='20250602-000000-hostil']").InnerTextAsync();
        Assert.Contains(UiFixture.Hostile, row);
        await page.Locator(".trow[data-id='20250602-000000-hostil'] a").ClickAsync();
        await Until(page, async () => (await Text(page, "#log")).Contains("<script>", StringComparison.Ordinal), "the log as text");
        await page.GotoAsync(ui.Url("/compare?runs=20250602-000000-hostil," + ui.MnistRun));
        await page.Locator("#diff-table").WaitForAsync(Shown);
        Assert.Contains(UiFixture.HostileParam, await Text(page, "#diff-table"));
        Assert.Null(await page.EvaluateAsync<int?>("() => window.__pwned ?? null"));
        Assert.Equal(0, await page.Locator("main img[src='x'], main script").CountAsync());
        Assert.DoesNotContain(errors, e => !e.Contains("404", StringComparison.Ordinal));
    }
}
