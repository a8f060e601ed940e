using ExpRunner.Config;
using ExpRunner.Training;
using Serilog;

namespace ExpRunner.Tracking;

/// <summary>Something that follows a run as it happens (the run folder is written by the recorder; this is for mirrors).</summary>
public interface IRunTracker
{
    void Handle(RunEvent e);
}

/// <summary>Creates a tracker for one run, given that run's log; the <see cref="RunRecorder"/> that calls it disposes the tracker.</summary>
public delegate IRunTracker TrackerFactory(ILogger runLog);

public abstract record RunEvent;
/// <summary>The run folder exists with its record and resolved config.</summary>
public sealed record RunStarted(RunFolder Folder, ExperimentConfig Config, RunRecord Record) : RunEvent;
public sealed record EpochEnded(EpochMetrics Metrics) : RunEvent;
/// <summary>Steps the per-step record has just written (every few dozen steps, and at the end); <paramref name="At"/>: when.</summary>
/// <summary>
/// Steps just written to steps.csv.gz; <paramref name="Probes"/>: the names of their probe values, which
/// <paramref name="Singles"/> (a float32 run) were written to float32's precision.
/// </summary>
public sealed record StepsRecorded(IReadOnlyList<Training.StepMetrics> Steps, DateTimeOffset At, IReadOnlyList<string> Probes, bool Singles) : RunEvent;
/// <summary>A sample of the machine (every few seconds while the run trains, and once at its end).</summary>
public sealed record SystemSampled(SystemSample Sample) : RunEvent;
/// <summary>The run folder is complete (summary, weights, curves, final record).</summary>
public sealed record RunEnded(RunRecord Record, RunSummary Summary) : RunEvent;

/// <summary>
/// Hands each event to every tracker; a tracker that throws — starting, handling or stopping — is
/// reported in the run's log and cannot fail the run or keep the others from their events.
/// </summary>
internal sealed class SafeTrackers : IDisposable
{
    private readonly List<IRunTracker> _trackers = [];
    private readonly ILogger _log;
    private readonly Lock _gate = new(); // events come from the training loop and the system sampler: one at a time, in order

    public SafeTrackers(IEnumerable<TrackerFactory> factories, ILogger log)
    {
        _log = log;
        foreach (var create in factories)
        {
            try { _trackers.Add(create(log)); }
            catch (Exception e) when (e is not OutOfMemoryException) { log.Warning("A tracker could not start ({Error}); the run goes on without it", e.Message); }
        }
    }

    public void Publish(RunEvent e)
    {
        lock (_gate)
            foreach (var t in _trackers)
            {
                try { t.Handle(e); }
                catch (Exception ex) when (ex is not OutOfMemoryException) { _log.Warning("Tracker {Tracker} failed on {Event} ({Error})", t.GetType().Name, e.GetType().Name, ex.Message); }
            }
    }

    public void Dispose()
    {
        foreach (var t in _trackers)
        {
            try { (t as IDisposable)?.Dispose(); }
            catch (Exception ex) when (ex is not OutOfMemoryException) { _log.Warning("Tracker {Tracker} failed to finish ({Error})", t.GetType().Name, ex.Message); }
        }
    }
}
