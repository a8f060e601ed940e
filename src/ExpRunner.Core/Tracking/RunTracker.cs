using ExpRunner.Config;
using ExpRunner.Training;

namespace ExpRunner.Tracking;

/// <summary>Something that follows a run as it happens (the run folder is written directly; this is for mirrors).</summary>
public interface IRunTracker
{
    void Handle(RunEvent e);
}

public abstract record RunEvent;
/// <summary>The run folder exists; <paramref name="Log"/> is the run's log (its log.txt and the console).</summary>
public sealed record RunStarted(RunFolder Folder, ExperimentConfig Config, RunRecord Record, Serilog.ILogger Log) : RunEvent;
public sealed record EpochEnded(EpochMetrics Metrics) : RunEvent;
/// <summary>The run folder is complete (summary, weights, curves, final record).</summary>
public sealed record RunEnded(RunRecord Record, RunSummary Summary) : RunEvent;
