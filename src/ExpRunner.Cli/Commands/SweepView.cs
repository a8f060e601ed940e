using ExpRunner.Sweeps;
using ExpRunner.Tracking;
using Spectre.Console;

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
            table.AddRow(t.Index.ToString(Common.Inv), Markup.Escape(string.Join(" ", t.Overrides.Where(o => !o.StartsWith("seed=", StringComparison.Ordinal)))),
                t.Seed.ToString(Common.Inv));
        cli.Out.Write(table);
        if (!draft.Sweeps) cli.Note("note: the config has no sweep: block and no --set KEY=a,b: the sweep would have one trial");
        if (draft.Plain.Count > 0) cli.Note($"every trial also: {string.Join(" ", draft.Plain.Select(p => "--set " + p))}");
    }

    public void Status(SweepRecord sweep)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"sweep {Markup.Escape(sweep.Id)} ({sweep.Executor}) {Common.StatusMarkup(sweep.Status)}");
        foreach (var c in new[] { "trial", "status", "overrides", "job", "run", "reason" }) table.AddColumn(c);
        foreach (var t in sweep.Trials)
            table.AddRow(t.Index.ToString(Common.Inv), Common.StatusMarkup(t.Status), Markup.Escape(t.Label),
                Markup.Escape(t.SchedulerId ?? t.Process?.Pid.ToString(Common.Inv) ?? "-"), Markup.Escape(t.RunId ?? "-"), Markup.Escape(t.Reason ?? ""));
        cli.Out.Write(table);
        cli.Note($"{SweepCounts.Of(sweep.Trials)}");
    }

    /// <summary>
    /// Runs the sweep under one display for any executor: a live bar with the trials' counts on a
    /// terminal, a line per trial that ends otherwise; failures are reported as they happen.
    /// </summary>
    public async Task<SweepRecord> Follow(SweepRecord sweep, bool detach, Func<Action<SweepProgress>, Task<SweepRecord>> run)
    {
        _jobs = sweep.SlurmJobs?.Count ?? 0;
        if (!cli.Interactive || detach) return await run(p => { Submitted(p.Sweep); foreach (var t in p.Changed) Line(t, live: false); });
        SweepRecord result = null!;
        await cli.Error.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Describe(SweepCounts.Of(sweep.Trials)), maxValue: sweep.Trials.Count);
                task.Value = SweepCounts.Of(sweep.Trials).Ended;
                result = await run(p =>
                {
                    Submitted(p.Sweep);
                    task.Value = p.Counts.Ended;
                    task.Description = Markup.Escape(Describe(p.Counts));
                    foreach (var t in p.Changed) Line(t, live: true);
                });
                task.Value = SweepCounts.Of(result.Trials).Ended;
                task.Description = Markup.Escape(Describe(SweepCounts.Of(result.Trials)));
            });
        return result;
    }

    private void Submitted(SweepRecord sweep)
    {
        if (sweep.SlurmJobs is not { } jobs || jobs.Count <= _jobs) return;
        _jobs = jobs.Count;
        cli.Note($"sweep {sweep.Id}: submitted Slurm job array {jobs[^1].JobId} ({jobs[^1].Trials.Count} trials; script {store.PathOf(sweep.Id, jobs[^1].Script)})");
    }

    private static string Describe(SweepCounts c) => $"ended {c.Ended}/{c.Total} · {(c.ToString() is { Length: > 0 } s ? s : "starting")}";

    private void Line(TrialRecord t, bool live)
    {
        if (t.InFlight) return;
        string what = $"trial {t.Index} {t.Status}: {t.Label}{(t.Reason is null ? "" : " — " + t.Reason)}";
        if (TrialStatus.IsFailure(t.Status) || t.Status == RunStatus.Diverged) cli.Error.MarkupLine($"[{(t.Status == RunStatus.Diverged ? "yellow" : "red")}]{Markup.Escape(what)}[/]");
        else if (!live) cli.Note(what);
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
