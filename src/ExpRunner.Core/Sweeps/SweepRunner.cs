using System.Diagnostics;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>What one trial came to.</summary>
public sealed record TrialOutcome(string Status, string? RunId, string? RunDir, string? Reason);

/// <summary>Runs one trial somewhere (a local process, a batch scheduler) and reports how it ended.</summary>
public interface ISweepExecutor
{
    Task<TrialOutcome> RunAsync(SweepRecord sweep, TrialRecord trial, CancellationToken cancel);
}

public readonly record struct SweepProgress(int Total, int Done, int Running, int Failed, TrialRecord? Changed);

/// <summary>
/// Runs the trials of a sweep that still need running, at most <c>jobs</c> at a time, recording
/// every change in sweep.json. Failures are reported and the sweep goes on, unless fail-fast.
/// Cancellation stops launching, lets running trials end as KILLED, and records them so.
/// </summary>
public sealed class SweepRunner(SweepStore store, ISweepExecutor executor, int jobs, bool failFast, Action<SweepProgress>? progress)
{
    public async Task<SweepRecord> RunAsync(SweepRecord sweep, CancellationToken cancel)
    {
        var trials = sweep.Trials.ToArray();
        var todo = trials.Where(t => TrialStatus.NeedsRerun(t.Status)).Select(t => t.Index).ToList();
        var rerun = todo.ToHashSet();
        for (int i = 0; i < trials.Length; i++)
            if (rerun.Contains(i)) trials[i] = trials[i] with { Status = TrialStatus.Pending, Reason = null };
        var gate = new object();
        SweepRecord Snapshot(string status) => sweep with { Trials = trials.ToArray(), Status = status };
        store.Write(Snapshot(RunStatus.Running));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var slots = new SemaphoreSlim(Math.Max(1, jobs));
        int running = 0;
        void Report(TrialRecord? changed)
        {
            int done = trials.Count(t => !TrialStatus.NeedsRerun(t.Status));
            int failed = trials.Count(t => t.Status is RunStatus.Failed or RunStatus.Killed);
            progress?.Invoke(new SweepProgress(trials.Length, done, running, failed, changed));
        }
        Report(null);

        var tasks = new List<Task>();
        foreach (int index in todo)
        {
            try { await slots.WaitAsync(stop.Token); }
            catch (OperationCanceledException) { break; }
            if (stop.IsCancellationRequested) { slots.Release(); break; }
            lock (gate)
            {
                trials[index] = trials[index] with { Status = RunStatus.Running };
                running++;
                store.Write(Snapshot(RunStatus.Running));
            }
            Report(trials[index]);
            tasks.Add(Task.Run(async () =>
            {
                var clock = Stopwatch.StartNew();
                TrialOutcome outcome;
                try { outcome = await executor.RunAsync(sweep, trials[index], stop.Token); }
                catch (Exception e) when (e is not OutOfMemoryException) { outcome = new TrialOutcome(RunStatus.Failed, null, null, e.Message); }
                TrialRecord changed;
                lock (gate)
                {
                    changed = trials[index] = trials[index] with
                    {
                        Status = outcome.Status, RunId = outcome.RunId, RunDir = outcome.RunDir, Reason = outcome.Reason,
                        Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
                    };
                    running--;
                    store.Write(Snapshot(RunStatus.Running));
                }
                Report(changed);
                if (failFast && outcome.Status is RunStatus.Failed) stop.Cancel();
                slots.Release();
            }));
        }
        await Task.WhenAll(tasks);
        string status = cancel.IsCancellationRequested ? RunStatus.Killed
            : trials.Any(t => t.Status is RunStatus.Failed or RunStatus.Killed || t.Status == TrialStatus.Pending) ? RunStatus.Failed
            : RunStatus.Finished;
        var final = Snapshot(status) with { Ended = DateTimeOffset.UtcNow };
        store.Write(final);
        return final;
    }
}
