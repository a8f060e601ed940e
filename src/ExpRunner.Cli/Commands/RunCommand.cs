using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Sweeps;
using ExpRunner.Tracking;
using ExpRunner.Tracking.Mlflow;
using ExpRunner.Training;
using Serilog;
using Serilog.Events;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class RunSettings : RunsSettings
{
    [CommandArgument(0, "[config]"), Description("Experiment YAML file.")]
    public string Config { get; init; } = "";

    [CommandOption("--resume <RUN>"), Description("Continue a KILLED, CRASHED or FAILED run from its last checkpoint, in its folder (a run folder or id).")]
    public string? Resume { get; init; }

    [CommandOption("--set <KEY=VALUE>"), Description("Override a config key, e.g. training.learning_rate=0.1 (repeatable).")]
    public string[] Set { get; init; } = [];

    [CommandOption("--label <TEXT>"), Description("A label for the run (distinct from its experiment's name; exprunner label changes it).")]
    public string? Label { get; init; }

    [CommandOption("--tag <KEY=VALUE>"), Description("A tag for the run (repeatable; exprunner tag changes them).")]
    public string[] Tags { get; init; } = [];

    [CommandOption("-q|--quiet"), Description("No progress; print only the final line.")]
    public bool Quiet { get; init; }

    [CommandOption("--json"), Description("Print the run summary as JSON on stdout, nothing else.")]
    public bool Json { get; init; }

    [CommandOption("--mlflow <URI>"), Description("Mirror the run to this MLflow tracking server (beats tracking.mlflow.uri and $MLFLOW_TRACKING_URI).")]
    public string? Mlflow { get; init; }

    [CommandOption("--mlflow-experiment <NAME>"), Description("MLflow experiment (beats tracking.mlflow.experiment and $MLFLOW_EXPERIMENT_NAME; default: the config's name).")]
    public string? MlflowExperiment { get; init; }

    [CommandOption("--sweep <TRIAL>", IsHidden = true), Description("Record this run as trial N of a sweep, given as SWEEP-ID:N; SWEEP-ID:N,M,… trains those trials together, as the sweep configured them (set by `exprunner sweep`).")]
    public string? Sweep { get; init; }
}

/// <summary>`exprunner run`: validate, train with live progress, leave a run folder.</summary>
public sealed class RunCommand(CliContext cli) : Command<RunSettings>
{
    public override int Execute(CommandContext context, RunSettings settings, CancellationToken cancellation)
    {
        if (settings.Resume is not null) return Resume(settings, cancellation);
        if (settings.Config.Length == 0) throw new InputException("give an experiment file (exprunner run experiments/xor.yaml), or --resume RUN");
        if (settings.Sweep is { } trials && trials.Contains(',')) return Together(settings, cancellation);
        // The working tree's commit and state are looked up while the config and data load (a sweep's trial has its sweep's).
        var gitLookup = settings.Sweep is null ? Task.Factory.StartNew(() => Provenance.Git(Path.GetDirectoryName(Path.GetFullPath(settings.Config))!),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default) : null;
        var loaded = ConfigLoader.Load(settings.Config, settings.Set);
        // The label and tags are checked before anything starts.
        _ = Organize.ParseTags(settings.Tags, "--tag");
        if (settings.Label is { } l) Organize.CheckLabel(l, "--label");
        using var hold = cli.HoldOnInterrupt(); // from here an interrupted run ends as KILLED, with its folder saying so
        string runs = cli.RunsRoot(settings.Runs);
        var (sweepRef, sweep) = Trial(settings.Sweep, runs);
        // A sweep's trial started again finds its earlier attempt: a result stands, a checkpoint continues.
        switch (sweepRef is null ? new TrialRuns.Earlier.None() : TrialRuns.Find(new SweepStore(runs), sweepRef))
        {
            case TrialRuns.Earlier.Ended(var previous, var status, var done):
                if (settings.Json) cli.Print(IO.Json.Serialize(done));
                else cli.Note($"trial {sweepRef!.Trial} of sweep {sweepRef.Id} already ended {status} in {previous.Dir}");
                return RunStatus.ExitCode(status);
            case TrialRuns.Earlier.Resumable(var previous):
                return ResumeFolder(previous, settings, cancellation);
        }

        var (live, epochLines) = Display(settings);
        using var console = ConsoleLog(settings, live);

        var options = Options(settings, loaded, runs, sweepRef, sweep, console, epochLines, gitLookup, cancellation);
        var result = live ? WithProgress(o => ExperimentRunner.Run(loaded, o), options) : ExperimentRunner.Run(loaded, options);

        if (settings.Json) cli.Print(IO.Json.Serialize(result.Summary));
        else Report(result, settings.Quiet);
        return result.ExitCode;
    }

    /// <summary>How a run started from a config (not a resume) is run and recorded: its trackers, its sweep trial's marker, label, tags and pruning.</summary>
    private RunOptions Options(RunSettings settings, LoadedConfig loaded, string runs, SweepRef? sweepRef, SweepRecord? sweep, Serilog.ILogger console, bool epochLines,
        Task<Provenance.GitState?>? gitLookup, CancellationToken cancellation)
    {
        var givenTags = Organize.ParseTags(settings.Tags, "--tag");
        string? givenLabel = settings.Label is { } l ? Organize.CheckLabel(l, "--label") : null;
        var trackers = new List<TrackerFactory>();
        if (MlflowConnection.Resolve(settings.Mlflow, loaded.Config.Tracking.MlflowUri, cli.Env) is { } mlflow)
        {
            string experiment = settings.MlflowExperiment ?? loaded.Config.Tracking.MlflowExperiment ?? cli.Env("MLFLOW_EXPERIMENT_NAME") ?? loaded.Config.Name;
            // A sweep's trial is a child of the sweep's MLflow run.
            string? parent = sweep is null ? null : MlflowSweepMirror.Read(new SweepStore(runs), sweep.Id)?.RunId;
            trackers.Add(log => new MlflowTracker(new MlflowClient(mlflow), experiment, log,
                new MlflowTrackerOptions { Abandon = cancellation, Clock = cli.Clock, ParentRunId = parent }));
        }
        return new RunOptions
        {
            RunsRoot = runs, Console = console, Cancel = cancellation, Clock = cli.Clock, Trackers = trackers,
            Sweep = sweepRef, SourceConfig = sweep?.SourceConfig,
            Git = sweep?.GitCommit is { } commit ? new Provenance.GitState(commit, sweep.GitDirty) : null, GitLookup = gitLookup,
            Slurm = SlurmRef.From(cli.Env), MaxThreads = ThreadBudget.Cap(cli.Env(ThreadBudget.Variable)), VectorBits = cli.VectorBits(),
            OnEpoch = epochLines ? EpochLines(loaded.Config.Training.Epochs) : null,
            OnStarted = folder =>
            {
                if (sweepRef is not null) new SweepStore(runs).WriteMarker(sweepRef.Id, sweepRef.Trial, folder.Dir, folder.Id);
                // The label and tags given at the start (a sweep's go to each of its trials).
                var tags = new Dictionary<string, string>(sweep?.Tags ?? new Dictionary<string, string>());
                foreach (var (k, v) in givenTags) tags[k] = v;
                string? label = givenLabel ?? sweep?.Label;
                if (label is not null || tags.Count > 0) RunMeta.Update(folder, m => m with { Label = label ?? m.Label, Tags = tags });
            },
            Pruner = Pruner(runs, sweep, sweepRef),
        };
    }

    /// <summary>`run --resume RUN`: the run continues in its folder from its checkpoint, as it was configured.</summary>
    private int Resume(RunSettings settings, CancellationToken cancellation)
    {
        if (settings.Config.Length > 0 || settings.Set.Length > 0)
            throw new InputException("--resume continues a run as it was configured: give no config file or --set with it");
        if (settings.Label is not null || settings.Tags.Length > 0)
            throw new InputException("--resume keeps the run's label and tags: change them with exprunner label / exprunner tag");
        if (settings.Mlflow is not null || settings.MlflowExperiment is not null)
            throw new InputException("--resume does not mirror to MLflow; `exprunner mlflow push RUN` completes a run's MLflow copy afterwards");
        return ResumeFolder(RunLocator.Resolve(settings.Resume!, cli.RunsRoot(settings.Runs)), settings, cancellation);
    }

    private int ResumeFolder(RunFolder folder, RunSettings settings, CancellationToken cancellation)
    {
        using var hold = cli.HoldOnInterrupt();
        string runs = cli.RunsRoot(settings.Runs);
        var (live, epochLines) = Display(settings);
        using var console = ConsoleLog(settings, live);
        var options = ResumeOptions(folder, runs, console, epochLines, cancellation);
        var result = live ? WithProgress(o => ExperimentRunner.Resume(folder, o), options) : ExperimentRunner.Resume(folder, options);
        if (settings.Json) cli.Print(IO.Json.Serialize(result.Summary));
        else Report(result, settings.Quiet);
        return result.ExitCode;
    }

    private RunOptions ResumeOptions(RunFolder folder, string runs, Serilog.ILogger console, bool epochLines, CancellationToken cancellation)
    {
        // A sweep trial continues under its sweep's pruning.
        var sweepRef = folder.TryReadRecord()?.Sweep;
        SweepRecord? sweep = null;
        if (sweepRef is not null)
            try { sweep = new SweepStore(runs).Read(sweepRef.Id); }
            catch (FileNotFoundException) { }
        return new RunOptions
        {
            RunsRoot = runs, Console = console, Cancel = cancellation, Clock = cli.Clock,
            Slurm = SlurmRef.From(cli.Env), MaxThreads = ThreadBudget.Cap(cli.Env(ThreadBudget.Variable)), VectorBits = cli.VectorBits(),
            OnEpoch = epochLines ? EpochLines(int.MaxValue) : null,
            Pruner = Pruner(runs, sweep, sweepRef),
        };
    }

    /// <summary>
    /// `run --sweep ID:N,M,…` (started by a sweep): those trials in one process, as the sweep configured
    /// them. Trials that see the same data in the same order train together (<see cref="TrialGroup{T}"/>),
    /// each on its own thread with its own run folder, bit for bit as alone; a trial with an earlier
    /// attempt continues it (or its result stands), on its own. With --json each trial's summary is a
    /// line on stdout as it ends. Exit code: 0 when every trial finished, else the first other trial's.
    /// </summary>
    private int Together(RunSettings settings, CancellationToken cancellation)
    {
        if (settings.Set.Length > 0 || settings.Label is not null || settings.Tags.Length > 0)
            throw new InputException("--sweep SWEEP-ID:N,M,… runs a sweep's trials as the sweep configured them: give no --set, --label or --tag with it");
        using var hold = cli.HoldOnInterrupt();
        string runs = cli.RunsRoot(settings.Runs);
        var store = new SweepStore(runs);
        var (refs, sweep) = Trials(settings.Sweep!, runs);
        using var console = ConsoleLog(settings, live: false);
        var codes = new List<int>();
        var gate = new Lock();
        void Ended(RunSummary summary, string status, string dir, int trial)
        {
            lock (gate)
            {
                codes.Add(RunStatus.ExitCode(status));
                if (settings.Json) cli.Print(IO.Json.Serialize(summary).ReplaceLineEndings(" ") + "\n");
                else cli.Print($"trial {trial} {status} {dir}\n");
            }
        }

        // Each trial starts, or continues its earlier attempt's checkpoint; those that see the same data from the same point train together.
        var starts = new List<(SweepRef Ref, LoadedConfig? Loaded, RunFolder? Resumes, string? Key)>();
        foreach (var r in refs)
            switch (TrialRuns.Find(store, r))
            {
                case TrialRuns.Earlier.Ended(var previous, var status, var done):
                    Ended(done, status, previous.Dir, r.Trial);
                    break;
                case TrialRuns.Earlier.Resumable(var previous):
                    // A folder whose checkpoint or config cannot be read resumes alone, and says why there.
                    string? key = Fusion.ResumeKey(previous.Dir);
                    starts.Add((r, key is null ? null : ConfigLoader.Load(previous.PathOf(RunFolder.ConfigFile)), previous, key));
                    break;
                default:
                    var loaded = ConfigLoader.Load(settings.Config, [.. sweep.Overrides, .. sweep.Trials[r.Trial].Overrides]);
                    starts.Add((r, loaded, null, Fusion.Key(loaded.Config)));
                    break;
            }
        int? cap = ThreadBudget.Cap(cli.Env(ThreadBudget.Variable));
        // What trains at once must fit in memory: a set too large for it trains as groups one after another (waves).
        long available = Footprint.Available();
        var waves = new List<List<(int Trial, Func<RunResult> Run)>>();
        foreach (var set in starts.GroupBy(f => f.Key ?? $"alone {f.Ref.Trial}"))
        {
            var all = set.ToList();
            var first = all.Count >= Fusion.MinGroup ? all[0].Loaded!.Config : null;
            // Trials that train together load their data once.
            var data = first is null ? null : DatasetLoader.Load(first.Dataset, first.Seed);
            var chunks = data is null ? [all] : Waves(all, m => Footprint.Bytes(m.Loaded!.Config, data.Features, data.Train.Count), available);
            for (int wave = 0; wave < chunks.Count; wave++)
            {
                var members = chunks[wave];
                while (waves.Count <= wave) waves.Add([]);
                var seats = data is null || members.Count < Fusion.MinGroup ? null : TrialGroups.New(first!.Precision, members.Count, data, first.Training.BatchSize,
                    first.Model.Layers[^1].Units, cap ?? ThreadBudget.Effective(first.Training.Threads, cap), cli.VectorBits());
                for (int i = 0; i < members.Count; i++)
                {
                    var (r, loaded, resumes, _) = members[i];
                    var seat = seats?[i];
                    waves[wave].Add((r.Trial, () =>
                    {
                        try
                        {
                            return resumes is null
                                ? ExperimentRunner.Run(loaded!, Options(settings, loaded!, runs, r, sweep, console, false, null, cancellation) with { Data = data, Seat = seat })
                                : ExperimentRunner.Resume(resumes, ResumeOptions(resumes, runs, console, false, cancellation) with { Data = data, Seat = seat });
                        }
                        finally { seat?.Leave(); } // a trial that fails before training must not hold the others
                    }));
                }
            }
        }

        foreach (var wave in waves)
        {
            var threads = wave.Select(w => new Thread(() =>
            {
                try
                {
                    var result = w.Run();
                    Ended(result.Summary, result.Status, result.Folder.Dir, w.Trial);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // As a trial alone would end on it: said on stderr (the sweep reads the reason from there), the others go on.
                    lock (gate)
                    {
                        codes.Add(e is InputException or ConfigException or InvalidDataException ? 2 : 1);
                        cli.ErrorText.WriteLine($"trial {w.Trial}: {e.Message}");
                    }
                }
            }) { Name = $"exprunner-trial-{w.Trial}" }).ToList();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
        }
        return codes.FirstOrDefault(c => c != 0);
    }

    /// <summary>Members in order, cut into groups whose memory together stays within <paramref name="available"/> (one member at least to a group).</summary>
    private static List<List<T>> Waves<T>(List<T> members, Func<T, long> bytes, long available)
    {
        var waves = new List<List<T>> { new() };
        long total = 0;
        foreach (var m in members)
        {
            long b = bytes(m);
            if (waves[^1].Count > 0 && total + b > available) { waves.Add([]); total = 0; }
            waves[^1].Add(m);
            total += b;
        }
        return waves;
    }

    /// <summary>The trials of --sweep SWEEP-ID:N (or N,M,… trained together) and their sweep.</summary>
    private static (List<SweepRef>, SweepRecord) Trials(string value, string runs)
    {
        int colon = value.LastIndexOf(':');
        var numbers = colon <= 0 ? [""] : value[(colon + 1)..].Split(',');
        var trials = new List<int>();
        foreach (var n in numbers)
            if (int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out int t) && !trials.Contains(t)) trials.Add(t);
            else throw new InputException($"--sweep {value}: expected SWEEP-ID:TRIAL, e.g. 20261125-101500-ab12cd:3 (or distinct trials 3,4,5 trained together)");
        var sweep = new SweepStore(runs).Read(value[..colon]);
        if (trials.FirstOrDefault(t => t >= sweep.Trials.Count, -1) is var bad and >= 0) throw new InputException($"--sweep {value}: sweep {sweep.Id} has {sweep.Trials.Count} trials, no trial {bad}");
        return ([.. trials.Select(t => new SweepRef(sweep.Id, t))], sweep);
    }

    /// <summary>A live progress bar on a terminal; else a line per epoch, unless --quiet or --json.</summary>
    private (bool Live, bool EpochLines) Display(RunSettings settings)
    {
        bool live = !settings.Quiet && !settings.Json && cli.Interactive;
        return (live, !settings.Quiet && !settings.Json && !live);
    }

    /// <summary>The run's log on the error stream: warnings only under a live display, --quiet or --json.</summary>
    private Serilog.Core.Logger ConsoleLog(RunSettings settings, bool live) => new LoggerConfiguration()
        .MinimumLevel.Is(live || settings.Quiet || settings.Json ? LogEventLevel.Warning : LogEventLevel.Information)
        .WriteTo.Sink(new TextSink(cli.ErrorText, "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}"))
        .CreateLogger();

    private TrialPruner? Pruner(string runs, SweepRecord? sweep, SweepRef? trial) =>
        sweep?.Prune is { } prune && trial is not null ? new TrialPruner(new SweepStore(runs).DirOf(sweep.Id), prune, trial.Trial, cli.Clock) : null;

    /// <summary>The sweep trial a run belongs to (--sweep ID:N) and its sweep, whose source config and commit the run records.</summary>
    private static (SweepRef?, SweepRecord?) Trial(string? value, string runs)
    {
        if (value is null) return (null, null);
        var (refs, sweep) = Trials(value, runs);
        return (refs.Single(), sweep);
    }

    /// <summary>
    /// The run under a progress bar whose line always tells the truth: the epoch it is in, the running
    /// train loss and accuracy, the validation (else test) accuracy of the last finished epoch with
    /// its number; at the end how the run ended, the bar left where training stopped.
    /// </summary>
    private RunResult WithProgress(Func<RunOptions, RunResult> start, RunOptions options)
    {
        RunResult result = null!;
        int width = cli.Error.Profile.Width;
        int room = Math.Max(20, width - (width < 120 ? 20 : 40) - 30); // what the bar, percentage and times leave for the text
        cli.Error.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = width < 120 ? 20 : 40 },
                new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: 1);
                var throttle = Stopwatch.StartNew();
                string judged = "", judgedShort = "";
                result = start(options with
                {
                    OnBatch = p =>
                    {
                        if (throttle.ElapsedMilliseconds < 100 && p.Batch != p.Batches) return;
                        throttle.Restart();
                        task.MaxValue = (double)p.Epochs * p.Batches;
                        task.Value = (double)(p.Epoch - 1) * p.Batches + p.Batch;
                        // The held-out accuracy stays whatever the width; the training batch's numbers give way first, labelled.
                        task.Description = Markup.Escape(Fit(room,
                            $"epoch {p.Epoch}/{p.Epochs} · train loss {Common.F(p.Loss)} acc {Common.F(p.Accuracy)}{judged}",
                            $"ep {p.Epoch}/{p.Epochs} · train loss {Common.F(p.Loss, "0.000")} acc {Common.F(p.Accuracy, "0.000")}{judged}",
                            $"ep {p.Epoch}/{p.Epochs} · train loss {Common.F(p.Loss, "0.000")}{judged}",
                            $"ep {p.Epoch}/{p.Epochs}{judged}",
                            $"ep {p.Epoch}/{p.Epochs}{judgedShort}"));
                    },
                    OnEpoch = m =>
                    {
                        (judged, judgedShort) = (m["validation"] ?? m["test"]) is { } s
                            ? ($" · {(s.Split == "validation" ? "val" : "test")} acc {Common.F(s.Accuracy, "0.000")} (ep {m.Epoch})", $" {(s.Split == "validation" ? "val" : "test")} {Common.F(s.Accuracy, "0.000")}")
                            : ("", "");
                    },
                });
                var summary = result.Summary;
                string final = summary.Final.TryGetValue("validation_accuracy", out double va) ? $"val acc {Common.F(va)}"
                    : summary.Final.TryGetValue("test_accuracy", out double ta) ? $"test acc {Common.F(ta)}" : "no epoch finished";
                if (result.Status == RunStatus.Finished) task.Value = task.MaxValue;
                else task.StopTask();
                task.Description = Markup.Escape(Fit(room, $"{result.Status} after {summary.EpochsRun} epochs · {final}", $"{result.Status} · {final}", result.Status));
            });
        return result;
    }

    /// <summary>The longest of the texts that fits <paramref name="room"/> characters (the last one regardless).</summary>
    private static string Fit(int room, params string[] texts) => texts.FirstOrDefault(t => t.Length <= room) ?? texts[^1];

    /// <summary>
    /// A line per epoch off a terminal, at a sane cadence: the first three, then at most one a second (saying how many
    /// epochs it stands for), and the last — 50,000 one-step epochs make a few dozen lines, not 50,000.
    /// </summary>
    private Action<EpochMetrics> EpochLines(int epochs)
    {
        var since = Stopwatch.StartNew();
        int lastShown = 0;
        return m =>
        {
            if (m.Epoch > 3 && m.Epoch != epochs && since.ElapsedMilliseconds < 1000) return;
            string skipped = m.Epoch - lastShown > 1 && lastShown > 0 ? $" (epochs {lastShown + 1}–{m.Epoch})" : "";
            cli.Note(EpochLine(m) + skipped);
            lastShown = m.Epoch;
            since.Restart();
        };
    }

    private static string EpochLine(EpochMetrics m) =>
        $"epoch {m.Epoch}: " + string.Join("  ", m.Splits.Select(s => $"{s.Split} loss {Common.F(s.Loss)} acc {Common.F(s.Accuracy)}")) +
        $"  ({Common.F(m.Seconds, "0.00")} s)";

    /// <summary>The full MNIST and Fashion-MNIST training sets: 60,000 examples.</summary>
    private const int FullImageTrain = 60_000;

    /// <summary>
    /// What a number on a reduced copy of MNIST or Fashion-MNIST (the offline fallback) means: fewer examples make
    /// shorter epochs, so a config's epochs reach less than they would on the full set.
    /// </summary>
    internal static string? Reduced(Data.DatasetFingerprint d, RunSummary s)
    {
        if (d.Name is not ("mnist" or "fashion-mnist") || d.TrainCount + d.ValidationCount >= FullImageTrain) return null;
        if (s.Params.GetValueOrDefault("dataset.train_limit") is { } limit && limit != "0") return null; // asked for
        long perEpoch = s.EpochsRun > 0 ? s.Steps / s.EpochsRun : 0;
        int batch = int.TryParse(s.Params.GetValueOrDefault("training.batch_size"), NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b > 0 ? b : 0;
        // The full set split as this one was (its validation share kept).
        double fullTrain = FullImageTrain * (d.TrainCount / (double)Math.Max(1, d.TrainCount + d.ValidationCount));
        long fullSteps = batch > 0 ? (long)Math.Ceiling(fullTrain / batch) : 0;
        return $"this {d.Name} has {d.TrainCount + d.ValidationCount:N0} of the full set's {FullImageTrain:N0} training examples" +
            (perEpoch > 0 && fullSteps > 0 ? $": an epoch here is {perEpoch:N0} steps, not {fullSteps:N0}," : ",") +
            " so these epochs reach less than on the full data (README: Shipped experiments gives both)";
    }

    private void Report(RunResult r, bool quiet)
    {
        var s = r.Summary;
        string Metric(string key) => s.Final.TryGetValue(key, out var v) ? Common.F(v) : "-";
        if (quiet)
        {
            // A run that did not finish says why on its one line (its folder says it too).
            string why = s.Status is RunStatus.Finished || r.Record.Reason is not { } cause ? "" : $" reason: {cause.ReplaceLineEndings(" ")}";
            cli.Print($"{s.Status} {r.Folder.Dir} test_accuracy={Metric("test_accuracy")} test_loss={Metric("test_loss")}{why}\n");
            return;
        }
        if (s.Final.Count == 0) cli.Out.MarkupLine($"[bold]{Markup.Escape(s.Experiment)}[/] {Common.StatusMarkup(s.Status)} — no epoch finished, no metrics");
        else
        {
            var table = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(s.Experiment)}[/] {Common.StatusMarkup(s.Status)}");
            table.AddColumn("split"); table.AddColumn(new TableColumn("loss").RightAligned()); table.AddColumn(new TableColumn("accuracy").RightAligned());
            foreach (var split in new[] { "train", "validation", "test" })
                if (s.Final.ContainsKey($"{split}_loss")) table.AddRow(split, Metric($"{split}_loss"), Metric($"{split}_accuracy"));
            cli.Out.Write(table);
        }
        if (r.Record.Reason is { } reason) cli.Out.MarkupLine($"[yellow]{Markup.Escape(reason)}[/]");
        if (r.Record.Dataset is { } d)
        {
            cli.Out.MarkupLine(Markup.Escape($"data: {d.Name} from {d.Source}, {d.TrainCount} train / {d.ValidationCount} validation / {d.TestCount} test")
                + (d.Description is { } what ? $"[grey] — {Markup.Escape(what)}[/]" : ""));
            if (Reduced(d, s) is { } note) cli.Out.MarkupLine($"[yellow]{Markup.Escape(note)}[/]");
        }
        cli.Out.MarkupLine($"{s.EpochsRun} epochs, {s.Steps} steps, {Common.F(s.DurationSeconds, "0.0")} s — run folder: {Markup.Escape(r.Folder.Dir)}");
        // An interrupted run goes on from its last whole epoch, as a sweep's does.
        if (s.Status is RunStatus.Killed && File.Exists(r.Folder.PathOf(RunFolder.CheckpointFile)))
        {
            // The runs directory is named when it is not the one the command would find by itself.
            string runs = Path.GetDirectoryName(Path.GetDirectoryName(r.Folder.Dir))!;
            string where = Path.GetFullPath(runs) == Path.GetFullPath(cli.RunsRoot(null)) ? "" : $" --runs {runs}";
            cli.Out.MarkupLine(Markup.Escape($"resume with: exprunner run --resume {r.Folder.Id}{where}"));
        }
    }
}
