using ExpRunner.Sweeps;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Support;

/// <summary>
/// Test double of a sweep executor: trials "run" in memory, each ending after a number of polls
/// with the status the test gives it. Records what the engine asked of it.
/// </summary>
public sealed class FakeExecutor(int capacity) : ISweepExecutor
{
    /// <summary>How a trial ends (default FINISHED).</summary>
    public Func<TrialRecord, string> Outcome { get; init; } = _ => RunStatus.Finished;
    public int PollsToEnd { get; init; } = 1;
    /// <summary>Called at every poll with the trials in flight (a test can interrupt the sweep from here).</summary>
    public Action<IReadOnlyList<TrialRecord>>? OnPoll { get; init; }

    public List<int> Submitted { get; } = [];
    public int MostInFlight { get; private set; }
    public int Cancels { get; private set; }
    private readonly Dictionary<int, int> _remaining = [];

    public int Capacity => capacity;

    public Submission Submit(SweepRecord sweep, IReadOnlyList<TrialRecord> trials)
    {
        foreach (var t in trials) { Submitted.Add(t.Index); _remaining[t.Index] = PollsToEnd; }
        MostInFlight = Math.Max(MostInFlight, _remaining.Count);
        return new Submission(trials.Select(t => t with
        {
            Status = RunStatus.Running, Process = new ProcessRef("fake-host", 1000 + t.Index, null), Attempts = t.Attempts + 1, Reason = null,
        }).ToList());
    }

    public Task<IReadOnlyList<TrialRecord>> PollAsync(SweepRecord sweep, IReadOnlyList<TrialRecord> inFlight, bool wait, CancellationToken wake)
    {
        if (wait) OnPoll?.Invoke(inFlight);
        var changes = new List<TrialRecord>();
        foreach (var t in inFlight)
        {
            if (!_remaining.TryGetValue(t.Index, out int left)) continue; // not ours: a previous process's, still running
            if (left == int.MinValue) { changes.Add(t with { Status = RunStatus.Killed, Reason = "interrupted" }); _remaining.Remove(t.Index); continue; }
            if (wait && --_remaining[t.Index] <= 0)
            {
                string status = Outcome(t);
                changes.Add(t with { Status = status, Reason = status == RunStatus.Finished ? null : $"fake {status}", RunDir = $"fake/{t.Index}" });
                _remaining.Remove(t.Index);
            }
        }
        return Task.FromResult<IReadOnlyList<TrialRecord>>(changes);
    }

    public void Cancel(SweepRecord sweep, IReadOnlyList<TrialRecord> inFlight)
    {
        Cancels++;
        foreach (var t in inFlight) if (_remaining.ContainsKey(t.Index)) _remaining[t.Index] = int.MinValue;
    }
}
