using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

public sealed record SweepRunOptions
{
    /// <summary>Stop starting trials at the first failure (running ones end normally).</summary>
    public bool FailFast { get; init; }
    /// <summary>Train again the trials whose runs were deleted (`exprunner rm`); by default a resume leaves them be.</summary>
    public bool RetrainDeleted { get; init; }
    /// <summary>Return as soon as every trial is submitted (a scheduler runs them on without us).</summary>
    public bool Detach { get; init; }
    /// <summary>When interrupted, leave the trials in flight running (a scheduler goes on without us; <see cref="SweepEngine.StopAsync"/> stops them later).</summary>
    public bool LeaveRunningOnInterrupt { get; init; }
    /// <summary>The executor and its settings this run uses, recorded in the sweep so a later resume starts the same way.</summary>
    public string? Executor { get; init; }
    public Config.SlurmOptions? Slurm { get; init; }
    /// <summary>The MLflow server and experiment of this run of the sweep (recorded, so a resume mirrors the same way).</summary>
    public string? MlflowUri { get; init; }
    public string? MlflowExperiment { get; init; }
    /// <summary>At most this many trials in flight (a search: each proposal should see as many results as it can).</summary>
    public int? Parallel { get; init; }
    /// <summary>How long stopped trials may take to end before they are recorded KILLED regardless.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>A change in a running sweep: the trials as they stand (a live view, valid during the call) and which changed.</summary>
public sealed record SweepProgress(SweepRecord Sweep, IReadOnlyList<TrialRecord> Trials, SweepCounts Counts, IReadOnlyList<TrialRecord> Changed);

/// <summary>
/// The one sweep engine, whatever runs the trials. It holds the sweep's lock, first reconciles
/// what a previous process left (trials still running are followed, never started twice), then
/// starts the trials that need running as the executor has room, records every change in the
/// sweep's event log, reports progress, and on interrupt stops what is in flight.
/// </summary>
public sealed class SweepEngine(SweepStore store, ISweepExecutor executor, TimeProvider clock)
{
    public Action<SweepProgress>? Progress { get; init; }
    /// <summary>A search sweep's proposer: gives each trial its values as it is about to start.</summary>
    public ITrialProposer? Proposer { get; init; }

    /// <summary>The sweep as it really is: recorded, then checked with the executor. Persisted when no one else runs it.</summary>
    public async Task<SweepRecord> StatusAsync(string idOrLatest)
    {
        string id = store.Resolve(idOrLatest);
        SweepLock? held = null;
        try { held = store.Lock(id); }
        catch (SweepBusyException) { } // its runner keeps the record; show what the executor says without writing
        using (held)
        {
            var state = new State(store.Read(id));
            state.Apply(state.Untraceable(), clock.GetUtcNow());
            state.Apply(await executor.PollAsync(state.Sweep, state.InFlight(), wait: false, CancellationToken.None), clock.GetUtcNow());
            if (held is null) return state.Sweep;
            store.Append(state.Sweep, state.TakeEvents());
            if (state.Sweep.Status == RunStatus.Running && !state.Trials.Any(t => t.InFlight))
                return store.Save(state.Sweep with { Status = SweepStatus.Of(state.Trials, interrupted: false), Ended = clock.GetUtcNow() });
            return state.Sweep;
        }
    }

    public async Task<SweepRecord> RunAsync(string idOrLatest, SweepRunOptions options, CancellationToken cancel)
    {
        string id = store.Resolve(idOrLatest);
        using var held = store.Lock(id);
        var recorded = store.Read(id);
        var state = new State(store.Save(recorded with
        {
            Status = RunStatus.Running, Ended = null, Executor = options.Executor ?? recorded.Executor, Slurm = options.Slurm ?? recorded.Slurm,
            MlflowUri = options.MlflowUri ?? recorded.MlflowUri, MlflowExperiment = options.MlflowExperiment ?? recorded.MlflowExperiment,
        }));
        bool interrupted = false, leftRunning = false;
        try
        {
            // What a previous sweep process left in flight: still running (followed), or ended while no one watched.
            Record(state, state.Untraceable());
            Record(state, await executor.PollAsync(state.Sweep, state.InFlight(), wait: false, CancellationToken.None));
            // A trial whose run someone deleted is not trained again unless asked for (its attempt ended; its folder is in the trash).
            var queue = new Queue<int>(state.Trials.Where(t => store.Deleted(t) ? options.RetrainDeleted && !t.InFlight : t.NeedsRun).Select(t => t.Index));
            bool stopping = false;
            DateTimeOffset? deadline = null;
            while (true)
            {
                if (!interrupted && cancel.IsCancellationRequested)
                {
                    interrupted = stopping = true;
                    if (state.FlyingCount > 0 && options.LeaveRunningOnInterrupt) { leftRunning = true; break; }
                    executor.Cancel(state.Sweep, state.InFlight());
                    deadline = clock.GetUtcNow() + options.StopGrace;
                }
                if (!stopping && queue.Count > 0 && Math.Min(executor.Capacity, options.Parallel ?? int.MaxValue) - state.FlyingCount is int room and > 0)
                {
                    var batch = new List<TrialRecord>();
                    while (batch.Count < room && queue.Count > 0)
                    {
                        int next = queue.Dequeue();
                        // A search proposes the trial's values now, from the results so far (the trials before it in this batch count as pending).
                        if (state.Sweep.Search is not null)
                        {
                            var proposer = Proposer ?? throw new InvalidOperationException("a search sweep needs its proposer");
                            if (proposer.Propose(state.Sweep, state.Trials, state.Trials[next]) is { } overrides) state.Propose(next, overrides, clock.GetUtcNow());
                        }
                        batch.Add(state.Trials[next]);
                    }
                    store.Append(state.Sweep, state.TakeEvents());
                    foreach (var t in batch)
                    {
                        // An attempt that left a checkpoint is continued in its folder (the trial's command resumes it by
                        // its marker); any other starts over, the old folder kept but marked superseded.
                        if (Continuable(store, id, t)) continue;
                        store.ClearMarker(id, t.Index);
                        Supersede(store, t, $"sweep {id} trial {t.Index}, attempt {t.Attempts + 1}");
                    }
                    var submitted = executor.Submit(state.Sweep, batch);
                    if (submitted.Job is { } job) state.AddJob(job, clock.GetUtcNow());
                    Record(state, submitted.Trials);
                    // What the executor had no room for yet waits at the front of the queue.
                    var taken = submitted.Trials.Select(t => t.Index).ToHashSet();
                    if (batch.Any(t => !taken.Contains(t.Index))) queue = new Queue<int>(batch.Select(t => t.Index).Where(i => !taken.Contains(i)).Concat(queue));
                }
                if (options.Detach && queue.Count == 0 && !stopping) break;
                var flying = state.InFlight();
                if (flying.Count == 0 && (queue.Count == 0 || stopping)) break;
                if (deadline is { } d && clock.GetUtcNow() > d)
                {
                    Record(state, flying.Select(t => t with
                    {
                        Status = RunStatus.Killed, Reason = $"stopped, but did not confirm its end within {options.StopGrace.TotalSeconds:0} s",
                    }).ToList());
                    break;
                }
                var changed = await executor.PollAsync(state.Sweep, flying, wait: true, stopping ? CancellationToken.None : cancel);
                Record(state, changed);
                if (options.FailFast && changed.Any(t => TrialStatus.IsFailure(t.Status))) stopping = true;
            }
        }
        finally
        {
            string status = leftRunning || options.Detach && !interrupted ? RunStatus.Running : SweepStatus.Of(state.Trials, interrupted);
            state.Sweep = store.Save(state.Sweep with { Status = status, Ended = status == RunStatus.Running ? null : clock.GetUtcNow() });
        }
        return state.Sweep;
    }

    /// <summary>Stops every trial in flight (a sweep left running in a scheduler) and waits for them to end; the sweep ends KILLED.</summary>
    public async Task<SweepRecord> StopAsync(string idOrLatest, TimeSpan grace)
    {
        string id = store.Resolve(idOrLatest);
        using var held = store.Lock(id);
        var state = new State(store.Read(id));
        Record(state, state.Untraceable());
        Record(state, await executor.PollAsync(state.Sweep, state.InFlight(), wait: false, CancellationToken.None));
        executor.Cancel(state.Sweep, state.InFlight());
        var deadline = clock.GetUtcNow() + grace;
        while (state.FlyingCount > 0 && clock.GetUtcNow() <= deadline)
            Record(state, await executor.PollAsync(state.Sweep, state.InFlight(), wait: true, CancellationToken.None));
        Record(state, state.InFlight().Select(t => t with
        {
            Status = RunStatus.Killed, Reason = $"stopped, but did not confirm its end within {grace.TotalSeconds:0} s",
        }).ToList());
        return state.Sweep = store.Save(state.Sweep with { Status = SweepStatus.Of(state.Trials, interrupted: true), Ended = clock.GetUtcNow() });
    }

    /// <summary>
    /// Whether a trial's last attempt can continue from its checkpoint (it was interrupted, crashed or
    /// failed after an epoch); if so its marker points the trial's command at that folder.
    /// </summary>
    private static bool Continuable(SweepStore store, string sweepId, TrialRecord t)
    {
        if (t.Status is not (RunStatus.Killed or RunStatus.Crashed or RunStatus.Failed) || store.RunDirOf(t) is not { } dir || t.RunId is null) return false;
        var folder = RunFolder.Open(dir);
        if (!File.Exists(folder.PathOf(RunFolder.CheckpointFile)) || folder.TryReadRecord() is not { } r
            || RunFolder.EffectiveStatus(r) is not (RunStatus.Killed or RunStatus.Crashed or RunStatus.Failed)) return false;
        store.WriteMarker(sweepId, t.Index, dir, t.RunId);
        return true;
    }

    /// <summary>A trial about to run again: its previous attempt's folder is kept, marked as no longer the trial's result.</summary>
    private static void Supersede(SweepStore store, TrialRecord t, string by)
    {
        if (store.RunDirOf(t) is not { } dir || !Directory.Exists(dir)) return;
        var folder = RunFolder.Open(dir);
        try
        {
            if (folder.TryReadRecord() is { } record) folder.WriteRecord(record with { SupersededBy = by });
            if (folder.ReadSummary() is { } summary) folder.WriteSummary(summary with { SupersededBy = by });
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { } // the mark is a courtesy; the sweep goes on
    }

    private void Record(State state, IReadOnlyList<TrialRecord> changes)
    {
        var changed = state.Apply(changes, clock.GetUtcNow());
        store.Append(state.Sweep, state.TakeEvents());
        if (changed.Count > 0) Progress?.Invoke(new SweepProgress(state.Sweep, state.Trials, state.Counts, changed));
    }

    /// <summary>The trials of a sweep being run, with what is in flight and the counts kept up to date as they change.</summary>
    private sealed class State
    {
        public SweepRecord Sweep { get; set; }
        public TrialRecord[] Trials { get; }
        public SweepCounts Counts { get; private set; }
        private readonly SortedSet<int> _flying = [];
        private readonly List<SweepEvent> _events = [];

        public State(SweepRecord sweep)
        {
            Trials = sweep.Trials.ToArray();
            Sweep = sweep with { Trials = Trials };
            Counts = SweepCounts.Of(Trials);
            foreach (var t in Trials) if (t.InFlight && (t.Process is not null || t.SchedulerId is not null)) _flying.Add(t.Index);
        }

        public int FlyingCount => _flying.Count;

        /// <summary>Trials recorded in flight without a handle to follow them by: whoever started them is gone without a trace.</summary>
        public IReadOnlyList<TrialRecord> Untraceable() => Trials.Where(t => t.InFlight && t.Process is null && t.SchedulerId is null)
            .Select(t => t with { Status = RunStatus.Crashed, Reason = "its sweep process ended while it was starting" }).ToList();

        public IReadOnlyList<TrialRecord> InFlight() => _flying.Select(i => Trials[i]).ToList();

        public IReadOnlyList<TrialRecord> Apply(IEnumerable<TrialRecord> changes, DateTimeOffset now)
        {
            var applied = new List<TrialRecord>();
            foreach (var c in changes)
            {
                var before = Trials[c.Index];
                var after = c with { Overrides = before.Overrides, Seed = before.Seed, Repeat = before.Repeat };
                if (after == before) continue;
                Trials[c.Index] = after;
                Counts = Counts.Add(before.Status, -1).Add(after.Status, +1);
                if (after.InFlight) _flying.Add(after.Index); else _flying.Remove(after.Index);
                _events.Add(new SweepEvent { At = now, Trial = after });
                applied.Add(after);
            }
            return applied;
        }

        /// <summary>A search gave a trial its values.</summary>
        public void Propose(int index, IReadOnlyList<string> overrides, DateTimeOffset now)
        {
            Trials[index] = Trials[index] with { Overrides = overrides };
            _events.Add(new SweepEvent { At = now, Proposal = new TrialProposal(index, overrides) });
        }

        public void AddJob(SlurmJob job, DateTimeOffset now)
        {
            Sweep = Sweep with { SlurmJobs = [.. Sweep.SlurmJobs ?? [], job] };
            _events.Add(new SweepEvent { At = now, SlurmJob = job });
        }

        public List<SweepEvent> TakeEvents()
        {
            var taken = _events.ToList();
            _events.Clear();
            return taken;
        }
    }
}
