namespace ExpRunner.Sweeps;

/// <summary>What a submission started: the trials' new states and, for a batch scheduler, the job that runs them.</summary>
public sealed record Submission(IReadOnlyList<TrialRecord> Trials, SlurmJob? Job = null);

/// <summary>
/// Where trials run: local processes or a batch scheduler. The engine decides what to start and
/// when; an executor starts trials, reports how the ones in flight are doing, and stops them. It
/// also answers for trials a previous sweep process started (after kill -9), by their handles
/// (<see cref="TrialRecord.Process"/>, <see cref="TrialRecord.SchedulerId"/>).
/// </summary>
public interface ISweepExecutor
{
    /// <summary>How many trials may be in flight at once; a scheduler that queues them itself takes them all.</summary>
    int Capacity { get; }

    Submission Submit(SweepRecord sweep, IReadOnlyList<TrialRecord> trials);

    /// <summary>
    /// Waits (when <paramref name="wait"/>) until something may have changed or <paramref name="wake"/>
    /// fires, then returns the in-flight trials whose state changed.
    /// </summary>
    Task<IReadOnlyList<TrialRecord>> PollAsync(SweepRecord sweep, IReadOnlyList<TrialRecord> inFlight, bool wait, CancellationToken wake);

    /// <summary>Stops the in-flight trials; later polls report them ended (KILLED).</summary>
    void Cancel(SweepRecord sweep, IReadOnlyList<TrialRecord> inFlight);
}
