using ExpRunner.Config;
using ExpRunner.Compare;
using ExpRunner.Sweeps;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ExpRunner.Cli.Commands;

/// <summary>What `exprunner sweep` shows: the planned trials, the sweep while it runs, its status and its end.</summary>
internal sealed class SweepView(CliContext cli, SweepStore store)
{
    private int _jobs = -1;

    public void Plan(NewSweep draft)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"{draft.Trials.Count} trial{(draft.Trials.Count == 1 ? "" : "s")} ({SweepPlan.Shape(draft.Spec)})");
        table.AddColumn("trial"); table.AddColumn("overrides"); table.AddColumn("seed");
        foreach (var t in draft.Trials)
            table.AddRow(t.Index.ToString(Common.Inv), draft.Spec.Search is { } search
                    ? $"[grey]{(t.Index < search.StartupTrials || search.Method == "random" ? "random draw" : "proposed by tpe")} as it starts[/]"
                    : Markup.Escape(string.Join(" ", t.Overrides.Where(o => !o.StartsWith("seed=", StringComparison.Ordinal)))),
                t.Seed.ToString(Common.Inv));
        cli.Out.Write(table);
        if (draft.Spec.Search is { } s)
            cli.Note($"search: {s.Method} on {s.Metric} ({s.Mode}) over {string.Join(", ", s.Params.Select(p => $"{p.Key} {p.Kind}"))}" +
                (s.Method == "tpe" ? $"; the first {s.StartupTrials} trials are random draws" : ""));
        if (draft.Spec.Prune is { } prune)
            cli.Note($"pruning: {prune.Metric} ({prune.Mode}) at epochs {string.Join(", ", prune.Rungs(draft.Loaded.Config.Training.Epochs))}; the best 1/{prune.ReductionFactor} at each go on");
        Equivalences(draft);
        if (!draft.Sweeps) cli.Note("note: the config has no sweep: block and no --set KEY=a,b: the sweep would have one trial");
        if (draft.Plain.Count > 0) cli.Note($"every trial also: {string.Join(" ", draft.Plain.Select(p => "--set " + p))}");
    }

    /// <summary>
    /// Which trials will train together (the dry run's last word): on <paramref name="slots"/> local jobs
    /// (the first groups; later ones as jobs free up), or on Slurm every trial in a task of its own or of its group's.
    /// </summary>
    /// <param name="quiet">Only when some trials do train together (a sweep starting, not a dry run).</param>
    public void Together(NewSweep draft, string executor, bool noFuse, int slots, bool quiet = false)
    {
        if (draft.Trials.Count < Fusion.MinGroup) return;
        string why = noFuse ? "--no-fuse" : draft.Spec.Search is not null ? "a search proposes each trial from the results before it" : "";
        string where = executor == "local" ? "process" : "Slurm array task";
        if (why.Length > 0) { if (!quiet) cli.Note($"each trial trains alone, in its own {where} ({why})"); return; }
        var keys = draft.Trials.Select(t => (string?)Fusion.Key(Config.ConfigLoader.Parse(draft.ConfigText, draft.ConfigFile, [.. draft.Plain, .. t.Overrides]).Config)).ToList();
        var units = Fusion.Plan([.. draft.Trials.Select(t => t.Index)], keys, executor == "local" ? slots : Math.Max(slots, Fusion.Sets(keys)));
        var groups = units.Where(u => u.Count >= Fusion.MinGroup).ToList();
        int placed = units.Sum(u => u.Count);
        if (groups.Count == 0)
        {
            if (!quiet) cli.Note($"each trial trains alone, in its own {where}: no two see the same data in the same order (dataset, batch size, shuffle seed)");
            return;
        }
        cli.Note($"trains together ({(executor == "local" ? $"{slots} job{(slots == 1 ? "" : "s")}" : "Slurm")}; --no-fuse: each alone, same results):");
        foreach (var g in groups) cli.Note($"  trials {Fusion.Numbers(g)} in one {where}");
        var alone = units.Where(u => u.Count == 1).SelectMany(u => u).ToList();
        if (alone.Count > 0) cli.Note($"  trial{(alone.Count == 1 ? "" : "s")} {Fusion.Numbers(alone)} alone");
        if (placed < draft.Trials.Count) cli.Note($"  the other {draft.Trials.Count - placed} as jobs free up, grouped the same way");
    }

    /// <summary>Says which trials are one configuration run twice, before any compute is spent on them.</summary>
    public void Equivalences(NewSweep draft)
    {
        var classes = draft.Equivalent();
        if (classes.Count == 0) return;
        string Label(int i) => string.Join(" ", draft.Trials[i].Overrides);
        cli.Note($"note: {classes.Sum(c => c.Count - 1)} trial{(classes.Sum(c => c.Count - 1) == 1 ? "" : "s")} repeat{(classes.Sum(c => c.Count - 1) == 1 ? "s" : "")} another's configuration — {Config.Equivalence.Rule}:");
        foreach (var c in classes)
            cli.Note($"  trials {string.Join(" ≡ ", c)}  ({string.Join(" ≡ ", c.Select(Label))})");
    }

    public void Status(SweepRecord sweep)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"sweep {Markup.Escape(sweep.Id)} ({sweep.Executor}) {Common.StatusMarkup(sweep.Status)}");
        foreach (var c in new[] { "trial", "status", "overrides", "job", "run", "reason" }) table.AddColumn(c);
        foreach (var t in sweep.Trials)
            table.AddRow(t.Index.ToString(Common.Inv), store.Deleted(t) ? $"{Common.StatusMarkup(t.Status)} [grey](run deleted)[/]" : Common.StatusMarkup(t.Status), Markup.Escape(t.Label),
                Markup.Escape(t.SchedulerId ?? t.Process?.Pid.ToString(Common.Inv) ?? "-"), Markup.Escape(t.RunId ?? "-"), Markup.Escape(t.Reason ?? ""));
        cli.Out.Write(table);
        cli.Note($"{SweepCounts.Of(sweep.Trials)}");
    }

    /// <summary>
    /// Runs the sweep under one display for any executor. On a terminal: a live table with a row per
    /// running trial (its swept values, epoch of epochs, its latest accuracy, elapsed and ETA) and the
    /// trials that ended (result and status), under a line of counts; elsewhere a line per trial that
    /// ends. Then the results table, best trial marked.
    /// </summary>
    public async Task<SweepRecord> Follow(SweepRecord sweep, bool detach, Func<Action<SweepProgress>, Task<SweepRecord>> run)
    {
        _jobs = sweep.SlurmJobs?.Count ?? 0;
        _short = Keys.Short(sweep.SweptKeys);
        _started = cli.Clock.GetUtcNow();
        SweepRecord result;
        if (!cli.Interactive || detach) result = await run(p => { Submitted(p.Sweep); foreach (var t in p.Changed) Line(t, live: false); });
        else
        {
            SweepProgress? last = null;
            var trials = sweep.Trials;
            var gate = new Lock();
            result = null!;
            await cli.Error.Live(Render(sweep, trials, SweepCounts.Of(trials))).AutoClear(false).StartAsync(async ctx =>
            {
                // Redrawn every second and whenever a trial changes (a trial that ends shows at once, with the best so far).
                var changed = new SemaphoreSlim(0);
                var work = run(p => { lock (gate) { last = p; Submitted(p.Sweep); foreach (var t in p.Changed) Line(t, live: true); } changed.Release(); });
                while (!work.IsCompleted)
                {
                    lock (gate) ctx.UpdateTarget(last is null ? Render(sweep, trials, SweepCounts.Of(trials)) : Render(last.Sweep, last.Trials, last.Counts));
                    await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(1), cli.Clock), changed.WaitAsync());
                }
                result = await work;
                // The end: the counts only (the results table follows, once), and after an interruption what it stopped.
                ctx.UpdateTarget(new Markup(Markup.Escape(Ended(result))));
            });
        }
        Results(result);
        return result;
    }

    /// <summary>The line the live view ends on: the counts, and what an interruption stopped (no time left: nothing is running).</summary>
    private string Ended(SweepRecord sweep)
    {
        var counts = SweepCounts.Of(sweep.Trials);
        string line = CountsText(counts) + $" · {Clock(cli.Clock.GetUtcNow() - _started)}";
        if (sweep.Status == RunStatus.Killed)
            line += $" — interrupted: {counts.Killed} trial{(counts.Killed == 1 ? "" : "s")} stopped (killed), {counts.Pending} never started; exprunner sweep --resume {sweep.Id} goes on";
        return line;
    }

    private static string Fit(string text, int width) => text.Length <= width ? text : text[..Math.Max(1, width - 1)] + "…";

    private Dictionary<string, string> _short = [];
    private string? _metric;
    private DateTimeOffset _started;
    private readonly TrialProgressReader _progress = new(store);

    /// <summary>The values that make a trial, in short key names: "gradient_reduction=sum learning_rate=0.01 seed=2".</summary>
    private string Values(TrialRecord t) => string.Join(" ", t.Overrides.Select(o =>
    {
        int eq = o.IndexOf('=');
        return eq > 0 && _short.TryGetValue(o[..eq], out var k) ? $"{k}={o[(eq + 1)..]}" : o;
    }));

    /// <summary>A column per swept key (short names; the seed shows as the repeat's number), for the trials shown.</summary>
    private List<FitColumn> ValueColumns(IReadOnlyList<TrialRecord> shown, IReadOnlyList<string> swept)
    {
        var columns = swept.Where(k => k != "seed").Select(k => new FitColumn(_short.GetValueOrDefault(k, k), _short.GetValueOrDefault(k, k),
            shown.Select(t => Markup.Escape(t.Overrides.FirstOrDefault(o => o.StartsWith(k + "=", StringComparison.Ordinal))?[(k.Length + 1)..] ?? "-")).ToList(), NoWrap: true)).ToList();
        if (swept.Contains("seed"))
            columns.Add(new FitColumn("seed", "seed", shown.Select(t => t.Seed.ToString(Common.Inv)).ToList(), Drop: 1, Right: true));
        else if (shown.Any(t => t.Repeat > 0))
            columns.Add(new FitColumn("repeat", "rep", shown.Select(t => t.Repeat.ToString(Common.Inv)).ToList(), Drop: 1, Right: true));
        return columns;
    }

    private static string Clock(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", Common.Inv) : t.ToString(@"m\:ss", Common.Inv);

    /// <summary>The counts in the one vocabulary of trial statuses (finished, pruned, diverged, failed, killed, crashed).</summary>
    private static string CountsText(SweepCounts counts) =>
        $"{counts.Ended}/{counts.Total} ended · {counts.Running} running" +
        string.Concat(new[] { (counts.Finished, "finished"), (counts.Pruned, "pruned"), (counts.Diverged, "diverged"), (counts.Failed, "failed"), (counts.Killed, "killed"), (counts.Crashed, "crashed") }
            .Where(c => c.Item1 > 0).Select(c => $" · {c.Item1} {c.Item2}"));

    /// <summary>
    /// The time left, from the trials themselves: once trials have finished, a trial takes what they took on average
    /// (a running one the part of it its epochs have not reached yet); before that, each running trial's epochs left at
    /// its own rate so far, and a trial not started at the mean of those. Shared among as many trials as run at once;
    /// null until there is anything to go on.
    /// </summary>
    private TimeSpan? Remaining(IReadOnlyList<TrialRecord> trials, IReadOnlyDictionary<int, TrialProgress?> progress, DateTimeOffset now)
    {
        var durations = trials.Where(t => t.Status == RunStatus.Finished && t.Seconds is > 0).Select(t => t.Seconds!.Value).ToList();
        var rates = new List<double>();
        int epochs = 0;
        foreach (var t in trials.Where(t => t.Status == RunStatus.Running))
            if (progress.GetValueOrDefault(t.Index) is { } p)
            {
                epochs = Math.Max(epochs, p.Epochs);
                if (p.Epoch > 0 && t.Started is { } s) rates.Add((now - s).TotalSeconds / p.Epoch);
            }
        if (durations.Count == 0 && (rates.Count == 0 || epochs == 0)) return null;
        double trial = durations.Count > 0 ? durations.Average() : rates.Average() * epochs, left = 0;
        int running = 0;
        foreach (var t in trials)
        {
            if (t.Status == RunStatus.Running)
            {
                running++;
                var p = progress.GetValueOrDefault(t.Index);
                double done = p is { Epochs: > 0 } ? (double)p.Epoch / p.Epochs : 0;
                left += durations.Count > 0 || p is not { Epoch: > 0 } || t.Started is null
                    ? trial * (1 - done)
                    : (now - t.Started.Value).TotalSeconds / p.Epoch * (p.Epochs - p.Epoch);
            }
            else if (t.Status == TrialStatus.Pending) left += trial;
        }
        return TimeSpan.FromSeconds(left / Math.Max(1, Math.Max(running, _parallel)));
    }

    private int _parallel;
    private readonly Dictionary<int, int> _epochsRun = [];
    private readonly Dictionary<int, (double Score, string Text)?> _ended = [];

    /// <summary>The best trial so far among those that ended (<see cref="ModelSelection"/>), as one line; null while none has a result.</summary>
    private string? BestSoFar(IReadOnlyList<TrialRecord> trials)
    {
        foreach (var t in trials.Where(t => TrialStatus.IsResult(t.Status) && !_ended.ContainsKey(t.Index)))
        {
            RunSummary? summary = null;
            try { if (store.RunDirOf(t) is { } dir) summary = RunFolder.Open(dir).ReadSummary(); }
            catch (Exception e) when (e is InvalidDataException or IOException) { }
            if (summary is null) continue;
            _epochsRun[t.Index] = summary.EpochsRun;
            var judged = t.Status == RunStatus.Finished ? ModelSelection.Of(summary.Final) : null;
            string test = summary.Final.TryGetValue("test_accuracy", out double ta) ? $" · test acc {Common.F(ta)}" : "";
            _ended[t.Index] = judged is { } j ? (ModelSelection.Score(summary.Final)!.Value, $"trial {t.Index} · {ModelSelection.Short(j.Metric)} {Common.F(j.Value)}{test} · {Values(t)}") : null;
        }
        var best = _ended.Values.Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty().MaxBy(v => v.Text is null ? double.MinValue : v.Score);
        return best.Text is null ? null : "best so far: " + best.Text;
    }

    /// <summary>The live view: counts, the best so far, then the running trials and the latest that ended, as many as fit the terminal's height.</summary>
    private IRenderable Render(SweepRecord sweep, IReadOnlyList<TrialRecord> trials, SweepCounts counts)
    {
        var now = cli.Clock.GetUtcNow();
        var elapsed = now - _started;
        _parallel = Math.Max(_parallel, counts.Running);
        int room = Math.Max(3, cli.Error.Profile.Height - 9);
        var running = trials.Where(t => t.Status == RunStatus.Running).ToList();
        var ended = trials.Where(t => !t.InFlight && t.Status != TrialStatus.Pending).OrderByDescending(t => t.Started ?? DateTimeOffset.MinValue).Take(Math.Max(0, room - running.Count)).ToList();
        var shown = running.Take(room).Concat(ended).ToList();
        var progress = trials.Where(t => t.Status == RunStatus.Running || shown.Contains(t)).ToDictionary(t => t.Index, t => _progress.Of(t));
        string eta = counts.Ended < counts.Total && Remaining(trials, progress, now) is { } left ? $" · about {Clock(left)} left" : "";
        string head = CountsText(counts) + $" · {Clock(elapsed)}{eta}";
        string? best = BestSoFar(trials);
        // Fixed widths, so the columns do not jump as the numbers grow.
        int epochWidth = 2 * progress.Values.Select(p => p?.Epochs.ToString(Common.Inv).Length ?? 1).DefaultIfEmpty(1).Max() + 1;
        var cells = shown.Select(t =>
        {
            var p = progress.GetValueOrDefault(t.Index);
            if (p is not null) _metric = p.Metric;
            var age = t.Started is { } s ? (t.Seconds is double secs ? TimeSpan.FromSeconds(secs) : now - s) : TimeSpan.Zero;
            string time = t.Status == RunStatus.Running && p is { Epoch: > 0 } ? $"{Clock(age)}/{Clock(age / p.Epoch * (p.Epochs - p.Epoch))}" : Clock(age);
            return (Trial: t.Index.ToString(Common.Inv), Status: Common.StatusMarkup(t.Status) + new string(' ', Math.Max(0, 8 - t.Status.Length)),
                Epoch: (p is null ? "-" : $"{p.Epoch}/{p.Epochs}").PadLeft(epochWidth), Acc: (p?.Accuracy is double a ? Common.F(a) : "-").PadLeft(6), Time: time.PadLeft(11));
        }).ToList();
        var (table, _) = TableFit.Build(
        [
            new FitColumn("trial", "#", cells.Select(c => c.Trial).ToList(), Right: true),
            .. ValueColumns(shown, sweep.SweptKeys).Select(c => c with { Key = true }),
            new FitColumn("status", "status", cells.Select(c => c.Status).ToList(), NoWrap: true),
            new FitColumn("epoch", "epoch", cells.Select(c => c.Epoch).ToList(), Right: true, NoWrap: true),
            new FitColumn(_metric ?? "accuracy", "acc", cells.Select(c => c.Acc).ToList(), Right: true),
            new FitColumn("elapsed/left", "time/left", cells.Select(c => c.Time).ToList(), Right: true, NoWrap: true),
        ], cli.Error.Profile.Width, terminal: true);
        if (best is not null) return new Rows(new Markup(Markup.Escape(head)), new Markup($"[green]{Markup.Escape(Fit(best, cli.Error.Profile.Width))}[/]"), table);
        return new Rows(new Markup(Markup.Escape(head)), table);
    }

    /// <summary>
    /// The sweep's results, best first by the metric that judges them (<see cref="ModelSelection"/>: validation
    /// accuracy, else training loss — never the test set), the best marked, with the held-out accuracy beside it; a
    /// long sweep shows its top 20 and says how many more there are.
    /// </summary>
    private void Results(SweepRecord sweep)
    {
        if (sweep.Status == RunStatus.Running) return;
        var rows = sweep.Trials.Select(t =>
        {
            RunSummary? summary = null;
            try { if (store.RunDirOf(t) is { } dir) summary = RunFolder.Open(dir).ReadSummary(); }
            catch (Exception e) when (e is InvalidDataException or IOException) { }
            var judged = summary is null ? null : ModelSelection.Of(summary.Final);
            double? test = summary?.Final.TryGetValue("test_accuracy", out double a) == true ? a : null;
            return (Trial: t, Judged: judged, Score: summary is null ? null : ModelSelection.Score(summary.Final), Test: test, Seconds: summary?.DurationSeconds, Epochs: summary?.EpochsRun);
        }).OrderByDescending(r => r.Trial.Status == RunStatus.Finished ? 2 : r.Trial.Status == RunStatus.Pruned ? 1 : 0)
            .ThenByDescending(r => r.Trial.Status == RunStatus.Pruned ? r.Epochs ?? 0 : 0)
            .ThenByDescending(r => TrialStatus.IsResult(r.Trial.Status) && r.Trial.Status != RunStatus.Diverged ? r.Score ?? double.MinValue : double.MinValue)
            .ThenBy(r => r.Trial.Index).ToList();
        string judgedBy = rows.Select(r => r.Judged?.Metric).FirstOrDefault(m => m is not null) ?? "validation_accuracy";
        var shown = rows.Take(20).ToList();
        int best = shown.Count > 0 && shown[0].Trial.Status == RunStatus.Finished && shown[0].Score is not null ? shown[0].Trial.Index : -1;
        string Mark(int index, string text) => index == best ? $"[bold green]{text}*[/]" : text;
        var (table, dropped) = TableFit.Build(
        [
            new FitColumn("trial", "#", shown.Select(r => Mark(r.Trial.Index, r.Trial.Index.ToString(Common.Inv))).ToList(), Right: true),
            .. ValueColumns(shown.Select(r => r.Trial).ToList(), sweep.SweptKeys),
            new FitColumn("status", "status", shown.Select(r => store.Deleted(r.Trial) ? "[grey]DELETED[/]" : Common.StatusMarkup(r.Trial.Status)).ToList(), NoWrap: true),
            new FitColumn(judgedBy.Replace('_', ' '), ModelSelection.Short(judgedBy), shown.Select(r => Mark(r.Trial.Index, r.Judged is { } j ? Common.F(j.Value) : "-")).ToList(), Right: true, NoWrap: true),
            new FitColumn("test accuracy", "test acc", shown.Select(r => r.Test is double a ? Common.F(a) : "-").ToList(), Drop: 4, Right: true, NoWrap: true),
            new FitColumn("epochs", "ep", shown.Select(r => r.Epochs is int e ? e.ToString(Common.Inv) : "-").ToList(), Drop: 3, Right: true),
            new FitColumn("seconds", "s", shown.Select(r => r.Seconds is double s ? Common.F(s, "0.0") : "-").ToList(), Drop: 1, Right: true),
        ], cli.Out.Profile.Width, cli.OutTerminal);
        cli.Out.Write(table);
        if (sweep.Prune is not null && rows.Any(r => r.Epochs is not null))
        {
            int pruned = rows.Count(r => r.Trial.Status == RunStatus.Pruned), trained = rows.Sum(r => r.Epochs ?? 0);
            int full = 0;
            if (!sweep.SweptKeys.Contains("training.epochs"))
                try { full = ConfigLoader.Load(store.PathOf(sweep.Id, sweep.ConfigFile), sweep.Overrides).Config.Training.Epochs * rows.Count; }
                catch (Exception e) when (e is ConfigException or IOException) { }
            cli.Out.MarkupLine(Markup.Escape($"{pruned} of {rows.Count} trials pruned; {trained} epochs trained" + (full > 0 ? $" of the {full} a search without pruning would train ({100.0 * trained / full:0}%)" : "")));
        }
        cli.Out.MarkupLine(Markup.Escape((best >= 0 ? $"* best: trial {best} ({Values(sweep.Trials[best])}) by {judgedBy.Replace('_', ' ')}" +
                (judgedBy == "train_loss" ? " (no validation split; never chosen on the test set)" : "") : "no trial finished") +
            (rows.Count > shown.Count ? $"; the top {shown.Count} of {rows.Count} trials shown (exprunner compare --sweep {sweep.Id} shows all)" : "")));
    }

    private void Submitted(SweepRecord sweep)
    {
        if (sweep.SlurmJobs is not { } jobs || jobs.Count <= _jobs) return;
        _jobs = jobs.Count;
        cli.Note($"sweep {sweep.Id}: submitted Slurm job array {jobs[^1].JobId} ({jobs[^1].Trials.Count} trials; script {store.PathOf(sweep.Id, jobs[^1].Script)})");
    }

    /// <summary>A trial that ended, in a line: every one when nothing is live, failures and divergence (in colour) under a live view.</summary>
    private void Line(TrialRecord t, bool live)
    {
        if (t.InFlight) return;
        string what = $"trial {t.Index} {t.Status}: {Values(t)}{(t.Reason is null ? "" : " — " + t.Reason)}";
        if (live) return; // the live table shows it
        if (TrialStatus.IsFailure(t.Status) || t.Status == RunStatus.Diverged) cli.Error.MarkupLine($"[{(t.Status == RunStatus.Diverged ? "yellow" : "red")}]{Markup.Escape(what)}[/]");
        else cli.Note(what);
    }

    public bool Ask(string question) => cli.Error.Confirm(question, defaultValue: false);

    /// <summary>The sweep's end in a few lines, and its exit code: 0 finished (or left running), 130 interrupted, 1 failed.</summary>
    public int Finish(SweepRecord sweep, bool detached)
    {
        string runs = store.RunsRoot == "runs" ? "" : " --runs " + store.RunsRoot;
        if (sweep.Status == RunStatus.Running)
        {
            if (detached && sweep.SlurmJobs is { Count: > 0 } jobs) cli.Print(jobs[^1].JobId + "\n");
            cli.Note($"sweep {sweep.Id} goes on in {(sweep.Executor == "slurm" ? "Slurm" : "its trials")}; follow with: exprunner sweep --status {sweep.Id}{runs}");
            return detached ? ExitCodes.Ok : ExitCodes.Killed;
        }
        cli.Note($"sweep {sweep.Id} {sweep.Status}: {SweepCounts.Of(sweep.Trials)}");
        foreach (var t in sweep.Trials.Where(t => TrialStatus.IsFailure(t.Status) || t.Status == TrialStatus.Pending))
            cli.Note($"  trial {t.Index} {t.Status}: {t.Label}{(t.Reason is null ? "" : " — " + t.Reason)}");
        cli.Note($"compare with: exprunner compare --sweep {sweep.Id}{runs}");
        if (sweep.Status != RunStatus.Finished) cli.Note($"resume with: exprunner sweep --resume {sweep.Id}{runs}");
        return sweep.Status switch
        {
            RunStatus.Finished => ExitCodes.Ok,
            RunStatus.Killed => ExitCodes.Killed,
            _ => ExitCodes.Failed,
        };
    }
}
