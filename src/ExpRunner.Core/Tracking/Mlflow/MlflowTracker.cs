using System.Threading.Channels;
using Serilog;

namespace ExpRunner.Tracking.Mlflow;

public sealed record MlflowTrackerOptions
{
    /// <summary>How long the end of the run may wait for the mirror to catch up before giving up (what is left: `mlflow push`).</summary>
    public TimeSpan FinishTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Once this fires (the user interrupted), the mirror gets <see cref="GraceAfterAbandon"/> more, then stops.</summary>
    public CancellationToken Abandon { get; init; }
    public TimeSpan GraceAfterAbandon { get; init; } = TimeSpan.FromSeconds(2);
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    /// <summary>The sweep's MLflow run when the run is a trial (its run is created as a child).</summary>
    public string? ParentRunId { get; init; }
}

/// <summary>
/// Mirrors a run to MLflow while it trains, without ever making training wait: events go into a
/// queue that one background task drains, merging whatever has queued up into requests as large as
/// MLflow allows (1000 metrics each), so the mirror keeps up with any epoch rate. At the end it
/// uploads the folder's files and the final status. The first failure is reported once; after it
/// nothing more is sent, mlflow.json records what did not arrive, and `exprunner mlflow push`
/// completes it.
/// </summary>
public sealed class MlflowTracker : IRunTracker, IDisposable
{
    private readonly MlflowClient _client;
    private readonly MlflowSync _sync;
    private readonly string _experiment;
    private readonly ILogger _log;
    private readonly MlflowTrackerOptions _options;
    private readonly Channel<RunEvent> _queue = Channel.CreateUnbounded<RunEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _worker;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenRegistration _abandoned;
    private RunFolder? _folder;
    private MlflowRunInfo? _run;
    private string? _experimentId, _failure;
    private long _lastEpochSent = -1, _lastEpoch = -1;
    private bool _ended;

    /// <param name="log">The run's log (its log.txt and the console).</param>
    public MlflowTracker(MlflowClient client, string experiment, ILogger log, MlflowTrackerOptions? options = null)
    {
        _client = client; _experiment = experiment; _log = log; _options = options ?? new MlflowTrackerOptions();
        _sync = new MlflowSync(client, Warn, _options.Clock);
        _abandoned = _options.Abandon.Register(() => { try { _stop.CancelAfter(_options.GraceAfterAbandon); } catch (ObjectDisposedException) { } });
        _worker = Task.Run(WorkAsync);
    }

    public void Handle(RunEvent e) => _queue.Writer.TryWrite(e);

    /// <summary>log-batch requests in flight at once (a server answers two about 1.5× faster than one at a time).</summary>
    private const int InFlight = 2;

    private async Task WorkAsync()
    {
        var pending = new List<MlflowMetric>();
        long pendingEpoch = -1;
        var sending = new Queue<(long Epoch, Task Request)>(); // in the order sent: what is confirmed is the finished prefix
        async Task Settle(bool all)
        {
            while (sending.Count > 0 && (all || sending.Count >= InFlight || sending.Peek().Request.IsCompleted))
            {
                var (epoch, request) = sending.Dequeue();
                await request;
                _lastEpochSent = Math.Max(_lastEpochSent, epoch);
            }
        }
        async Task Flush()
        {
            if (pending.Count == 0 || _run is null || _failure is not null) { pending.Clear(); return; }
            await Settle(all: false);
            sending.Enqueue((pendingEpoch, _client.LogBatchAsync(_run.RunId, pending.ToList(), [], [], _stop.Token)));
            pending.Clear();
        }
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stop.Token))
            {
                while (_queue.Reader.TryRead(out var e))
                {
                    switch (e)
                    {
                        case EpochEnded m:
                            _lastEpoch = m.Metrics.Epoch;
                            pending.AddRange(MlflowSync.Metrics(MetricRow.From(m.Metrics)));
                            pendingEpoch = m.Metrics.Epoch;
                            break;
                        case SystemSampled s:
                            pending.AddRange(MlflowSync.Metrics(s.Sample));
                            break;
                        case StepsRecorded r:
                            long at = r.At.ToUnixTimeMilliseconds();
                            pending.AddRange(MlflowSync.Metrics(r.Steps, _ => at, r.Probes, r.Singles));
                            break;
                        default:
                            await Flush();
                            await Settle(all: true);
                            await Control(e);
                            continue;
                    }
                    if (pending.Count >= MlflowClient.MaxMetrics) await Flush(); // a full request: send it while more queue up
                }
                await Flush(); // the queue is empty for now: send what there is
            }
            await Settle(all: true);
        }
        catch (Exception ex) when (ex is MlflowUnavailableException or MlflowException or OperationCanceledException or HttpRequestException)
        {
            Fail(ex is OperationCanceledException
                ? _options.Abandon.IsCancellationRequested ? "the mirror was interrupted" : $"MLflow at {_client.Display} did not finish within {_options.FinishTimeout.TotalSeconds:0} s"
                : ex.Message);
        }
    }

    private async Task Control(RunEvent e)
    {
        if (_failure is not null) return;
        switch (e)
        {
            case RunStarted s:
                _folder = s.Folder;
                _experimentId = await _client.GetOrCreateExperimentAsync(_experiment, _stop.Token);
                _run = (await _sync.EnsureRunAsync(s.Record, _experimentId, null, _stop.Token, _options.ParentRunId)).Info;
                await _client.LogBatchAsync(_run.RunId, [], MlflowSync.Params(s.Folder), MlflowSync.MetaTags(s.Folder), _stop.Token);
                State(complete: false, ["the run is still training"]);
                _log.Information("Mirroring to MLflow {Uri}, experiment {Experiment}, run {MlflowRun}", _client.Display, _experiment, _run.RunId);
                break;
            case RunEnded ended when _folder is not null && _run is not null:
                // The label, tags and note as they are at the end (a run may be tagged while it trains).
                await _client.LogBatchAsync(_run.RunId, [], [], [new("exprunner.status", ended.Record.Status), .. MlflowSync.MetaTags(_folder)], _stop.Token);
                var (_, proxied, _) = await _sync.FinishAsync(_folder, ended.Record, _run, _stop.Token);
                _ended = true;
                State(complete: proxied, proxied ? [] : ["artifacts (the server does not proxy them)"]);
                break;
        }
    }

    private void Fail(string why)
    {
        if (_failure is not null) return;
        _failure = why.TrimEnd('.');
        _log.Warning("{Failure}; training goes on, the run folder is complete, and `exprunner mlflow push {Folder}` brings MLflow up to date",
            _failure, _folder?.Dir ?? "RUN");
    }

    private void Warn(string message) => _log.Warning("{Message}", message);

    private void State(bool complete, IReadOnlyList<string> missing)
    {
        if (_folder is null) return;
        new MlflowState
        {
            TrackingUri = _client.Display, Experiment = _experiment, ExperimentId = _experimentId, RunId = _run?.RunId, ParentRunId = _options.ParentRunId,
            Complete = complete, Error = _failure, Missing = missing, Updated = _options.Clock.GetUtcNow(),
        }.Write(_folder);
    }

    /// <summary>
    /// Waits for the queue to drain — at most FinishTimeout, or GraceAfterAbandon once interrupted —
    /// then records in mlflow.json exactly what did not arrive.
    /// </summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _stop.CancelAfter(_options.FinishTimeout);
        try { _worker.Wait(); } catch (AggregateException) { }
        if (!_ended)
        {
            Fail(_stop.IsCancellationRequested && !_options.Abandon.IsCancellationRequested
                ? $"MLflow at {_client.Display} did not finish within {_options.FinishTimeout.TotalSeconds:0} s" : "the mirror was interrupted");
            var missing = new List<string>();
            if (_run is null) missing.Add("the whole run (it was never created)");
            else if (_lastEpochSent < _lastEpoch) missing.Add($"metrics of epochs {Math.Max(1, _lastEpochSent + 1)}–{_lastEpoch}");
            missing.Add("the run's files (artifacts) and its final status");
            State(complete: false, missing);
        }
        _abandoned.Dispose();
        _stop.Dispose();
        _client.Dispose();
    }
}
