using System.ComponentModel;
using ExpRunner.Config;
using ExpRunner.Sweeps;
using ExpRunner.Training;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class SweepSettings : RunsSettings
{
    [CommandArgument(0, "[config]"), Description("Experiment YAML file; its sweep: block and any --set KEY=a,b,c define the trials.")]
    public string? Config { get; init; }

    [CommandOption("--set <KEY=VALUE>"), Description("Override for every trial; KEY=a,b,c sweeps over the values (repeatable).")]
    public string[] Set { get; init; } = [];

    [CommandOption("--retrain-deleted"), Description("With --resume: also train again the trials whose runs were deleted (exprunner rm); without it they are left be.")]
    public bool RetrainDeleted { get; init; }

    [CommandOption("--label <TEXT>"), Description("A label for every trial's run.")]
    public string? Label { get; init; }

    [CommandOption("--tag <KEY=VALUE>"), Description("A tag for every trial's run (repeatable).")]
    public string[] Tags { get; init; } = [];

    [CommandOption("-j|--jobs <N>"), Description("Trials run at once (default: as many as fit in the cores).")]
    public int? Jobs { get; init; }

    [CommandOption("--no-fuse"), Description("Run every trial in its own process; by default trials that see the same data in the same order train together, in one process per group (results are the same bit for bit).")]
    public bool NoFuse { get; init; }

    [CommandOption("--dry-run"), Description("Print the trial table and which trials train together; run nothing.")]
    public bool DryRun { get; init; }

    [CommandOption("--fail-fast"), Description("Stop starting trials at the first failure.")]
    public bool FailFast { get; init; }

    [CommandOption("--max-trials <N>"), Description("Refuse a sweep of more trials than this (default 100000).")]
    public long? MaxTrials { get; init; }

    [CommandOption("--resume <SWEEP>"), Description("Run again the trials of a sweep that failed, were killed or never ran (id, prefix or latest).")]
    public string? Resume { get; init; }

    [CommandOption("--status <SWEEP>"), Description("Show the trials' states (as the executor sees them) and return.")]
    public string? Status { get; init; }

    [CommandOption("--mlflow <URI>"), Description("Mirror the sweep (a parent run) and its trials (child runs) to this MLflow server.")]
    public string? Mlflow { get; init; }

    [CommandOption("--mlflow-experiment <NAME>"), Description("MLflow experiment of the sweep and its trials (default: as for run).")]
    public string? MlflowExperiment { get; init; }

    [CommandOption("--executor <KIND>"), Description("local (default) or slurm (one job array per submission).")]
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

    [CommandOption("--cancel-on-interrupt"), Description("Slurm: Ctrl-C while following cancels the jobs (scancel) without asking.")]
    public bool CancelOnInterrupt { get; init; }

    public bool SlurmFlags => Partition is not null || Time is not null || CpusPerTask is not null || Mem is not null || MaxParallel is not null
        || SbatchArgs.Length > 0 || Detach || CancelOnInterrupt;
}

/// <summary>`exprunner sweep`: plan and create a sweep (or pick one to resume), run it on an executor, show it.</summary>
public sealed class SweepCommand(CliContext cli) : AsyncCommand<SweepSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SweepSettings s, CancellationToken cancellation)
    {
        var store = new SweepStore(cli.RunsRoot(s.Runs));
        var view = new SweepView(cli, store);
        Common.Check(s.Jobs, "--jobs", 1, 4096); Common.Check(s.CpusPerTask, "--cpus-per-task", 1, 4096); Common.Check(s.MaxParallel, "--max-parallel", 1, 1_000_000);
        if (s.MaxTrials is < 1) throw new InputException($"--max-trials {s.MaxTrials}: must be at least 1");
        if (s.Status is not null || s.Resume is not null)
        {
            if (s.Config is not null || s.Set.Length > 0 || s.DryRun || (s.Status is not null && s.Resume is not null))
                throw new InputException($"{(s.Status is not null ? "--status" : "--resume")} takes a sweep as it was defined: give no config, --set, --dry-run{(s.Status is not null ? " or --resume" : "")} with it");
        }
        SweepRecord sweep;
        if ((s.Status ?? s.Resume) is { } existing) sweep = store.Read(existing);
        else
        {
            if (s.Config is null) throw new InputException("give a config file, or --resume SWEEP, or --status SWEEP");
            var draft = NewSweep.Plan(s.Config, s.Set, s.MaxTrials ?? NewSweep.DefaultMaxTrials);
            string planned = Kind(s.Executor ?? draft.Spec.Executor, s);
            int slots = planned == "local" ? s.Jobs ?? ThreadBudget.DefaultJobs(draft.MaxThreads, Environment.ProcessorCount)
                : s.MaxParallel ?? draft.Spec.Slurm.MaxParallel ?? (draft.Trials.Count + SlurmExecutor.GroupSize - 1) / SlurmExecutor.GroupSize;
            // Data that is not there would fail every trial: said before anything is written. Slurm's nodes may see
            // files this machine does not (and a dry run starts nothing), so there it is a warning.
            var missing = draft.MissingData();
            if (missing.Count > 0 && planned == "local" && !s.DryRun)
                throw new Data.DataException($"{string.Join("; ", missing)} (every trial reading it would fail; nothing was started)");
            foreach (var m in missing) cli.Warn($"{m} ({(s.DryRun ? "every trial reading it would fail" : "the trials reading it will fail unless the cluster's nodes see it")})");
            if (s.DryRun)
            {
                view.Plan(draft);
                view.Together(draft, planned, s.NoFuse, slots);
                return ExitCodes.Ok;
            }
            if (s.Detach && draft.Spec.Search is not null) throw new InputException(DetachSearch);
            if (!draft.Sweeps) cli.Note("note: the config has no sweep: block and no --set KEY=a,b: the sweep has one trial");
            string kind = Kind(s.Executor ?? draft.Spec.Executor, s);
            var connected = Executor(kind, store, s, draft.Spec.Slurm, draft.MaxThreads);
            sweep = draft.Create(store, kind, connected.Slurm, cli.Clock.GetUtcNow(), s.Label is { } label ? Organize.CheckLabel(label, "--label") : null, Organize.ParseTags(s.Tags, "--tag"));
            cli.Note($"sweep {sweep.Id}: {sweep.Trials.Count} trial{(sweep.Trials.Count == 1 ? "" : "s")} of {sweep.Experiment} ({store.DirOf(sweep.Id)})");
            view.Equivalences(draft);
            if (!s.NoFuse) view.Together(draft, kind, s.NoFuse, slots, quiet: true);
            return await Run(view, store, sweep, draft.Loaded.Config, connected, s, cancellation);
        }
        if (s.Detach && sweep.Search is not null) throw new InputException(DetachSearch);
        string executor = Kind(s.Executor ?? sweep.Executor, s);
        var x = Executor(executor, store, s, sweep.Slurm ?? new SlurmOptions(), executor == "local" && s.Status is null ? Threads(store, sweep) : 1);
        if (s.Status is not null)
        {
            view.Status(await new SweepEngine(store, x.Executor, cli.Clock).StatusAsync(sweep.Id));
            return ExitCodes.Ok;
        }
        // The pruning ledger the trials will decide from, checked before any trial starts: damage is bad input naming its line.
        if (sweep.Prune is not null)
        {
            Asha.Read(store.DirOf(sweep.Id), out bool cut);
            if (cut) cli.Warn($"{Path.Combine(store.DirOf(sweep.Id), Asha.LedgerFile)}: its last line was cut short (a crash while writing it); it is left out and dropped at the next decision");
        }
        int again = sweep.Trials.Count(t => t.NeedsRun || t.InFlight);
        cli.Note($"sweep {sweep.Id}: {again} of {sweep.Trials.Count} trials to run or follow");
        var config = ConfigLoader.Load(store.PathOf(sweep.Id, sweep.ConfigFile), sweep.Overrides).Config;
        return await Run(view, store, sweep, config, x, s, cancellation);
    }

    private async Task<int> Run(SweepView view, SweepStore store, SweepRecord sweep, ExperimentConfig config, (ISweepExecutor Executor, SlurmOptions? Slurm) x,
        SweepSettings s, CancellationToken cancel)
    {
        using var hold = cli.HoldOnInterrupt(); // an interrupted sweep stops its trials and records them KILLED
        bool slurm = x.Slurm is not null;
        // MLflow: --mlflow, else the sweep's own (a resume), else the config's, else $MLFLOW_TRACKING_URI.
        var mlflow = Tracking.Mlflow.MlflowConnection.Resolve(s.Mlflow ?? sweep.MlflowUri, config.Tracking.MlflowUri, cli.Env);
        string? experiment = mlflow is null ? null
            : s.MlflowExperiment ?? sweep.MlflowExperiment ?? config.Tracking.MlflowExperiment ?? cli.Env("MLFLOW_EXPERIMENT_NAME") ?? config.Name;
        using var mirror = mlflow is null ? null
            : await MlflowSweepMirror.StartAsync(new Tracking.Mlflow.MlflowClient(mlflow), experiment!, store, sweep, config, cli.Warn, cli.Clock, cancel);
        var options = new SweepRunOptions
        {
            FailFast = s.FailFast, Detach = s.Detach, LeaveRunningOnInterrupt = slurm, Executor = slurm ? "slurm" : "local", Slurm = x.Slurm, RetrainDeleted = s.RetrainDeleted,
            MlflowUri = mlflow?.Display, MlflowExperiment = experiment,
            // A search on Slurm keeps a few trials in flight, so each proposal learns from the results before it.
            Parallel = slurm && sweep.Search is not null ? x.Slurm!.MaxParallel ?? SearchParallel : null,
        };
        var proposer = sweep.Search is { } search ? new TpeProposer(store, search, config.Seed) : null;
        var deleted = sweep.Trials.Where(store.Deleted).Select(t => t.Index).ToList();
        if (deleted.Count > 0)
            cli.Note(s.RetrainDeleted ? $"training again the deleted trial{(deleted.Count == 1 ? "" : "s")} {string.Join(", ", deleted)} (--retrain-deleted)"
                : $"note: the run{(deleted.Count == 1 ? "" : "s")} of trial{(deleted.Count == 1 ? "" : "s")} {string.Join(", ", deleted)} {(deleted.Count == 1 ? "was" : "were")} deleted (exprunner trash lists, restore brings back): not trained again; --retrain-deleted trains {(deleted.Count == 1 ? "it" : "them")}");
        var result = await view.Follow(sweep, s.Detach, progress =>
            new SweepEngine(store, x.Executor, cli.Clock) { Progress = p => { progress(p); mirror?.Progress(store, p); }, Proposer = proposer }
                .RunAsync(sweep.Id, options, cancel));
        if (slurm && cancel.IsCancellationRequested && result.Status == Tracking.RunStatus.Running)
        {
            bool stop = s.CancelOnInterrupt || (cli.CanAsk && view.Ask("Cancel the sweep's Slurm jobs (scancel)?"));
            if (stop) result = await new SweepEngine(store, x.Executor, cli.Clock).StopAsync(sweep.Id, TimeSpan.FromSeconds(60));
        }
        (x.Executor as IDisposable)?.Dispose();
        mirror?.End(result);
        return view.Finish(result, detached: s.Detach);
    }

    /// <summary>Trials a search keeps in flight on Slurm unless --max-parallel says otherwise.</summary>
    public const int SearchParallel = 4;

    private const string DetachSearch = "--detach: a search (sweep.search) proposes each trial from the results before it, so the sweep process must stay to propose them";

    private static string Kind(string kind, SweepSettings s)
    {
        if (!SweepSpec.Executors.Contains(kind))
            throw new InputException($"--executor {kind}: one of {string.Join(", ", SweepSpec.Executors)}{DidYouMean.Suggest(kind, SweepSpec.Executors)}");
        if (kind == "local" && s.SlurmFlags) throw new InputException("--partition, --time, --cpus-per-task, --mem, --max-parallel, --sbatch-arg, --detach and --cancel-on-interrupt are Slurm options: add --executor slurm");
        if (kind == "slurm" && s.Jobs is not null) throw new InputException("--jobs is for the local executor; on Slurm use --max-parallel");
        return kind;
    }

    /// <summary>The executor: local processes sharing the cores, or Slurm with the config's settings under the flags'.</summary>
    private (ISweepExecutor Executor, SlurmOptions? Slurm) Executor(string kind, SweepStore store, SweepSettings s, SlurmOptions config, int threads)
    {
        if (kind == "slurm")
        {
            var slurm = config with
            {
                Partition = s.Partition ?? config.Partition, Time = s.Time ?? config.Time, CpusPerTask = s.CpusPerTask ?? config.CpusPerTask,
                Mem = s.Mem ?? config.Mem, MaxParallel = s.MaxParallel ?? config.MaxParallel, SbatchArgs = s.SbatchArgs.Length > 0 ? s.SbatchArgs : config.SbatchArgs,
            };
            return (SlurmExecutor.Connect(store, cli.Self, slurm, cli.Clock, fuse: !s.NoFuse), slurm);
        }
        int cores = Environment.ProcessorCount;
        int jobs = s.Jobs ?? ThreadBudget.DefaultJobs(threads, cores);
        int share = ThreadBudget.PerTrial(jobs, cores);
        if (jobs * threads > cores)
            cli.Note($"note: {jobs} trials at once × {threads} threads each would exceed {cores} cores; " +
                $"each trial's matrix products use at most {share} thread{(share == 1 ? "" : "s")}");
        return (new LocalExecutor(store, cli.Self, jobs, share, cli.Clock) { Fuse = !s.NoFuse }, null);
    }

    /// <summary>The most matrix threads a trial still to run asks for (training.threads may be swept).</summary>
    private static int Threads(SweepStore store, SweepRecord sweep)
    {
        string file = store.PathOf(sweep.Id, sweep.ConfigFile), text = ConfigLoader.ReadText(file);
        return sweep.Trials.Where(t => t.NeedsRun && t.Repeat == 0).Select(t => ConfigLoader.Parse(text, file, [.. sweep.Overrides, .. t.Overrides]).Config.Training.Threads)
            .DefaultIfEmpty(1).Max();
    }
}
