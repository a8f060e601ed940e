using System.ComponentModel;
using System.Reflection;
using ExpRunner.Config;
using ExpRunner.Sweeps;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class SweepSettings : CommandSettings
{
    [CommandArgument(0, "[config]"), Description("Experiment YAML file; its sweep: block and any --set key=a,b,c define the trials.")]
    public string? Config { get; init; }

    [CommandOption("--set <KEY=VALUE>"), Description("Override for every trial; KEY=a,b,c sweeps over the values (repeatable).")]
    public string[] Set { get; init; } = [];

    [CommandOption("-j|--jobs <N>"), Description("Trials run at once (default: number of cores).")]
    public int? Jobs { get; init; }

    [CommandOption("--dry-run"), Description("Print the trial table; run nothing.")]
    public bool DryRun { get; init; }

    [CommandOption("--fail-fast"), Description("Stop launching trials at the first failure.")]
    public bool FailFast { get; init; }

    [CommandOption("--resume <SWEEP>"), Description("Run again the trials of a sweep that failed, were killed or never ran.")]
    public string? Resume { get; init; }

    [CommandOption("--runs <DIR>"), Description("Runs directory (default: runs, or $EXPRUNNER_RUNS).")]
    public string? Runs { get; init; }

    [CommandOption("--executor <KIND>"), Description("local (default) or slurm (one job array per sweep).")]
    public string? Executor { get; init; }

    [CommandOption("--partition <NAME>"), Description("Slurm partition.")]
    public string? Partition { get; init; }

    [CommandOption("--time <LIMIT>"), Description("Slurm time limit per trial, e.g. 00:30:00.")]
    public string? Time { get; init; }

    [CommandOption("--cpus-per-task <N>"), Description("Slurm CPUs per trial (default 1).")]
    public int? CpusPerTask { get; init; }

    [CommandOption("--mem <SIZE>"), Description("Slurm memory per trial, e.g. 2G.")]
    public string? Mem { get; init; }

    [CommandOption("--max-parallel <N>"), Description("Slurm: at most N array tasks at once.")]
    public int? MaxParallel { get; init; }

    [CommandOption("--sbatch-arg <ARG>"), Description("Extra sbatch option, e.g. --sbatch-arg=--qos=short (repeatable).")]
    public string[] SbatchArgs { get; init; } = [];

    [CommandOption("--detach"), Description("Slurm: submit, print the job id and return.")]
    public bool Detach { get; init; }

    [CommandOption("--status <SWEEP>"), Description("Slurm: show the trials' states as Slurm sees them.")]
    public string? Status { get; init; }

    [CommandOption("--cancel-on-interrupt"), Description("Slurm: Ctrl-C while following cancels the jobs (scancel) without asking.")]
    public bool CancelOnInterrupt { get; init; }
}

/// <summary>`exprunner sweep`: expand a sweep into trials, run them in parallel, keep sweep.json.</summary>
public sealed class SweepCommand : Command<SweepSettings>
{
    public override int Execute(CommandContext context, SweepSettings settings, CancellationToken cancellation) => Common.Guard(() =>
    {
        string runs = settings.Runs ?? RunLocator.DefaultRoot;
        var store = new SweepStore(runs);
        SweepRecord sweep;
        SweepSpec? spec0 = null;
        if (settings.Status is { } statusId)
        {
            try { sweep = store.Read(statusId); }
            catch (FileNotFoundException e) { throw new InputException(e.Message); }
            if (sweep.SlurmJobs is { Count: > 0 }) sweep = Slurm(store, runs, settings, null).Refresh(sweep);
            PrintStatus(sweep);
            return ExitCodes.Ok;
        }
        if (settings.Resume is { } resume)
        {
            if (settings.Config is not null || settings.Set.Length > 0 || settings.DryRun || settings.Status is not null)
                throw new InputException("--resume reruns a sweep as it was defined: give no config, --set or --dry-run with it");
            try { sweep = store.Read(resume); }
            catch (FileNotFoundException e) { throw new InputException(e.Message); }
            int again = sweep.Trials.Count(t => TrialStatus.NeedsRerun(t.Status));
            Console.Error.WriteLine($"sweep {sweep.Id}: {again} of {sweep.Trials.Count} trials to run again");
            if (again == 0) return ExitCodes.Ok;
        }
        else
        {
            if (settings.Config is null) throw new InputException("give a config file, or --resume SWEEP");
            var (plain, swept) = SplitOverrides(settings.Set);
            var loaded = ConfigLoader.Load(settings.Config, plain);
            var spec = loaded.Config.Sweep;
            spec0 = spec;
            var grid = spec.Grid.Where(a => swept.All(s => s.Key != a.Key)).Concat(swept).ToList();
            spec = spec with { Grid = grid };
            var trials = SweepPlan.Expand(spec, loaded.Config.Seed);
            Validate(settings.Config, plain, trials);
            if (settings.DryRun)
            {
                PrintTrials(trials, spec);
                return ExitCodes.Ok;
            }
            string id = store.NewId(DateTimeOffset.UtcNow);
            string copy = Path.Combine(store.DirOf(id), SweepStore.ConfigFile);
            File.Copy(settings.Config, copy);
            sweep = new SweepRecord
            {
                Id = id, Experiment = loaded.Config.Name, ConfigFile = Path.GetFullPath(copy), SourceConfig = Path.GetFullPath(settings.Config),
                Overrides = [$"name={loaded.Config.Name}", .. plain], SweptKeys = grid.Select(a => a.Key).Concat(spec.Zip.Select(a => a.Key)).Concat(spec.Random.Select(r => r.Key)).ToList(),
                Repeats = spec.Repeats, Created = DateTimeOffset.UtcNow,
                Trials = trials.Select(t => new TrialRecord { Index = t.Index, Overrides = t.Overrides, Seed = t.Seed, Repeat = t.Repeat }).ToList(),
            };
            Console.Error.WriteLine($"sweep {id}: {trials.Count} trials of {loaded.Config.Name} ({store.DirOf(id)})");
        }
        string executor = settings.Executor ?? spec0?.Executor ?? (settings.Resume is not null ? sweep.Executor : "local");
        if (executor is not ("local" or "slurm")) throw new InputException($"--executor {executor}: one of local, slurm");
        return executor == "slurm" ? RunOnSlurm(store, sweep, settings, runs, spec0?.Slurm) : Run(store, sweep, settings, runs);
    });

    private static SlurmSweep Slurm(SweepStore store, string runs, SweepSettings settings, SlurmOptions? config)
    {
        config ??= new SlurmOptions();
        var options = config with
        {
            Partition = settings.Partition ?? config.Partition,
            Time = settings.Time ?? config.Time,
            CpusPerTask = settings.CpusPerTask ?? config.CpusPerTask,
            Mem = settings.Mem ?? config.Mem,
            MaxParallel = settings.MaxParallel ?? config.MaxParallel,
            SbatchArgs = settings.SbatchArgs.Length > 0 ? settings.SbatchArgs : config.SbatchArgs,
        };
        return new SlurmSweep(store, SelfCommand(), Path.GetFullPath(runs), options);
    }

    private static int RunOnSlurm(SweepStore store, SweepRecord sweep, SweepSettings settings, string runs, SlurmOptions? config)
    {
        var slurm = Slurm(store, runs, settings, config);
        try { sweep = slurm.Submit(sweep); }
        catch (SlurmException e) { Common.Error(e.Message); return ExitCodes.BadInput; }
        var job = sweep.SlurmJobs![^1];
        Console.Error.WriteLine($"sweep {sweep.Id}: submitted Slurm job array {job.JobId} ({job.Trials.Count} trials; script {job.Script})");
        if (settings.Detach)
        {
            Console.WriteLine(job.JobId);
            Console.Error.WriteLine($"follow with: exprunner sweep --status {sweep.Id}");
            return ExitCodes.Ok;
        }
        using var cancel = new CancellationTokenSource();
        using var signals = Common.CancelOnSignals(cancel);
        sweep = WithProgress(sweep.Trials.Count, report => slurm.FollowAsync(sweep, report, cancel.Token).GetAwaiter().GetResult());
        if (cancel.IsCancellationRequested)
        {
            bool stop = settings.CancelOnInterrupt
                || (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsInputRedirected && AnsiConsole.Confirm("Cancel the sweep's Slurm jobs (scancel)?", false));
            if (!stop)
            {
                Console.Error.WriteLine($"the sweep goes on in Slurm; follow with: exprunner sweep --status {sweep.Id}");
                return ExitCodes.Killed;
            }
            slurm.Cancel(sweep);
            sweep = sweep with
            {
                Status = RunStatus.Killed, Ended = DateTimeOffset.UtcNow,
                Trials = sweep.Trials.Select(t => t.Status is TrialStatus.Pending or RunStatus.Running ? t with { Status = RunStatus.Killed, Reason = "cancelled (scancel)" } : t).ToList(),
            };
            store.Write(sweep);
            Console.Error.WriteLine($"sweep {sweep.Id} cancelled; resume with: exprunner sweep --resume {sweep.Id} --executor slurm");
            return ExitCodes.Killed;
        }
        var counts = sweep.Trials.GroupBy(t => t.Status).Select(g => $"{g.Count()} {g.Key}");
        Console.Error.WriteLine($"sweep {sweep.Id} {sweep.Status}: {string.Join(", ", counts)}");
        Console.Error.WriteLine($"compare with: exprunner compare --sweep {sweep.Id}{(runs == "runs" ? "" : " --runs " + runs)}");
        return sweep.Status == RunStatus.Finished ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static void PrintStatus(SweepRecord sweep)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"sweep {Markup.Escape(sweep.Id)} ({sweep.Executor}) {Markup.Escape(sweep.Status)}");
        foreach (var c in new[] { "trial", "status", "overrides", "job", "run", "reason" }) table.AddColumn(c);
        foreach (var t in sweep.Trials)
            table.AddRow(t.Index.ToString(Common.Inv), Common.StatusMarkup(t.Status), Markup.Escape(string.Join(" ", t.Overrides)),
                Markup.Escape(t.SchedulerId ?? "-"), Markup.Escape(t.RunId ?? "-"), Markup.Escape(t.Reason ?? ""));
        AnsiConsole.Write(table);
    }

    /// <summary>
    /// One progress display for any executor: a live bar (done / running / failed, ETA) on a
    /// terminal, a line per finished trial otherwise; failures are reported as they happen.
    /// </summary>
    private static SweepRecord WithProgress(int total, Func<Action<SweepProgress>, SweepRecord> run)
    {
        bool live = AnsiConsole.Profile.Capabilities.Interactive;
        void Line(TrialRecord t)
        {
            if (t.Status is RunStatus.Running or TrialStatus.Pending) return;
            string what = $"trial {t.Index} {t.Status}: {string.Join(" ", t.Overrides)}{(t.Reason is null ? "" : " — " + t.Reason)}";
            if (t.Status is RunStatus.Failed or RunStatus.Killed) AnsiConsole.MarkupLine($"[red]{Markup.Escape(what)}[/]");
            else if (!live) Console.Error.WriteLine(what);
        }
        if (!live) return run(p => { if (p.Changed is { } t) Line(t); });
        SweepRecord result = null!;
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("sweep", maxValue: total);
                result = run(p =>
                {
                    task.Value = p.Done;
                    task.Description = $"done {p.Done}/{p.Total} · running {p.Running} · failed {p.Failed}";
                    if (p.Changed is { } t) Line(t);
                });
            });
        return result;
    }

    /// <summary>Hydra's habit: key=a,b,c (a comma outside brackets and quotes) sweeps; anything else is a plain override.</summary>
    public static (List<string> Plain, List<SweepAxis> Swept) SplitOverrides(IEnumerable<string> sets)
    {
        var plain = new List<string>();
        var swept = new List<SweepAxis>();
        foreach (var s in sets)
        {
            int eq = s.IndexOf('=');
            if (eq <= 0) { plain.Add(s); continue; }
            string key = s[..eq], value = s[(eq + 1)..];
            var parts = TopLevelSplit(value);
            var fn = SweepSpec.ExpandFunction(value, out var error);
            if (error is not null) throw new ConfigException([new ConfigError($"--set {s}", key, error)]);
            if (fn is not null) swept.Add(new SweepAxis(key, fn));
            else if (parts.Count > 1) swept.Add(new SweepAxis(key, parts));
            else plain.Add(s);
        }
        return (plain, swept);
    }

    private static List<string> TopLevelSplit(string value)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        char quote = '\0';
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (quote != '\0') { if (c == quote) quote = '\0'; continue; }
            switch (c)
            {
                case '\'' or '"': quote = c; break;
                case '[' or '{' or '(': depth++; break;
                case ']' or '}' or ')': depth--; break;
                case ',' when depth == 0: parts.Add(value[start..i].Trim()); start = i + 1; break;
            }
        }
        parts.Add(value[start..].Trim());
        return parts;
    }

    /// <summary>Every trial's config is checked before anything runs; the errors are reported once each.</summary>
    private static void Validate(string file, List<string> plain, IReadOnlyList<Trial> trials)
    {
        var errors = new List<ConfigError>();
        var seen = new HashSet<string>();
        foreach (var t in trials)
        {
            try { ConfigLoader.Load(file, [.. plain, .. t.Overrides]); }
            catch (ConfigException e)
            {
                foreach (var error in e.Errors)
                    if (seen.Add(error.ToString())) errors.Add(error with { Message = $"{error.Message} (trial {t.Index}: {t.Label})" });
            }
        }
        if (errors.Count > 0) throw new ConfigException(errors);
    }

    private static void PrintTrials(IReadOnlyList<Trial> trials, SweepSpec spec)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"{trials.Count} trials");
        table.AddColumn("trial"); table.AddColumn("overrides"); table.AddColumn("seed");
        foreach (var t in trials)
            table.AddRow(t.Index.ToString(Common.Inv), Markup.Escape(string.Join(" ", t.Overrides.Where(o => !o.StartsWith("seed=", StringComparison.Ordinal)))), t.Seed.ToString(Common.Inv));
        AnsiConsole.Write(table);
    }

    private static int Run(SweepStore store, SweepRecord sweep, SweepSettings settings, string runs)
    {
        using var cancel = new CancellationTokenSource();
        using var signals = Common.CancelOnSignals(cancel);
        int cores = Environment.ProcessorCount;
        int threads = sweep.Trials.Max(t => ConfigLoader.Load(sweep.ConfigFile, [.. sweep.Overrides, .. t.Overrides]).Config.Training.Threads);
        int jobs = settings.Jobs ?? ThreadBudget.DefaultJobs(threads, cores);
        int share = ThreadBudget.PerTrial(jobs, cores);
        if (jobs * threads > cores)
            Console.Error.WriteLine($"note: {jobs} trials at once × {threads} threads each would exceed {cores} cores; " +
                $"each trial's matrix products use at most {share} thread{(share == 1 ? "" : "s")}");
        var executor = new LocalExecutor(SelfCommand(), runs) { MaxThreads = share };
        var result = WithProgress(sweep.Trials.Count, report =>
            new SweepRunner(store, executor, jobs, settings.FailFast, report).RunAsync(sweep, cancel.Token).GetAwaiter().GetResult());
        var counts = result.Trials.GroupBy(t => t.Status).Select(g => $"{g.Count()} {g.Key}");
        Console.Error.WriteLine($"sweep {result.Id} {result.Status}: {string.Join(", ", counts)}");
        foreach (var t in result.Trials.Where(t => t.Status is RunStatus.Failed or RunStatus.Killed or TrialStatus.Pending))
            Console.Error.WriteLine($"  trial {t.Index} {t.Status}: {string.Join(" ", t.Overrides)}{(t.Reason is null ? "" : " — " + t.Reason)}");
        Console.Error.WriteLine($"compare with: exprunner compare --sweep {result.Id}{(runs == "runs" ? "" : " --runs " + runs)}");
        if (result.Status == RunStatus.Killed) Console.Error.WriteLine($"resume with: exprunner sweep --resume {result.Id}");
        return result.Status switch
        {
            RunStatus.Finished => ExitCodes.Ok,
            RunStatus.Killed => ExitCodes.Killed,
            _ => ExitCodes.Failed,
        };
    }

    /// <summary>How to start this same exprunner again: the apphost, or `dotnet exprunner.dll`.</summary>
    private static List<string> SelfCommand()
    {
        string host = Environment.ProcessPath ?? "exprunner";
        string name = Path.GetFileNameWithoutExtension(host);
        return name == "dotnet" ? [host, Assembly.GetEntryAssembly()!.Location] : [host];
    }
}
