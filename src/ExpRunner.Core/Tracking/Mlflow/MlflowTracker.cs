using System.Threading.Channels;
using Serilog;

namespace ExpRunner.Tracking.Mlflow;

/// <summary>
/// Mirrors a run to MLflow while it trains, without ever making training wait: events go into a
/// queue that one background task sends (run and params at start, metrics each epoch, then a full
/// sync of the finished folder). The first failure is reported once; after it nothing more is
/// sent, mlflow.json records that the mirror is incomplete, and `exprunner mlflow push` completes it.
/// </summary>
public sealed class MlflowTracker : IRunTracker, IDisposable
{
    private readonly MlflowClient _client;
    private readonly MlflowSync _sync;
    private readonly string _experiment;
    private readonly ILogger _log;
    private readonly TimeSpan _finishTimeout;
    private readonly TimeProvider _clock;
    private readonly Channel<RunEvent> _queue = Channel.CreateUnbounded<RunEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _worker;
    private readonly CancellationTokenSource _stop = new();
    private RunFolder? _folder;
    private string? _experimentId, _runId;
    private string? _failure;
    private bool _ended;

    /// <param name="log">The run's log (its log.txt and the console).</param>
    public MlflowTracker(MlflowClient client, string experiment, ILogger log, TimeSpan? finishTimeout = null, TimeProvider? clock = null)
    {
        _client = client; _experiment = experiment; _log = log; _finishTimeout = finishTimeout ?? TimeSpan.FromSeconds(60);
        _clock = clock ?? TimeProvider.System;
        _sync = new MlflowSync(client, Warn, _clock);
        _worker = Task.Run(WorkAsync);
    }

    public void Handle(RunEvent e) => _queue.Writer.TryWrite(e);

    private async Task WorkAsync()
    {
        await foreach (var e in _queue.Reader.ReadAllAsync(CancellationToken.None))
        {
            if (_failure is not null) continue;
            try
            {
                switch (e)
                {
                    case RunStarted s:
                        _folder = s.Folder;
                        _experimentId = await _client.GetOrCreateExperimentAsync(_experiment, _stop.Token);
                        _runId = (await _sync.EnsureRunAsync(s.Record, _experimentId, null, _stop.Token)).Info.RunId;
                        await _client.LogBatchAsync(_runId, [], MlflowSync.Params(s.Folder), [], _stop.Token);
                        new MlflowState { TrackingUri = _client.Display, Experiment = _experiment, ExperimentId = _experimentId, RunId = _runId,
                            Missing = ["the run is still training"], Updated = _clock.GetUtcNow() }.Write(s.Folder);
                        _log.Information("Mirroring to MLflow {Uri}, experiment {Experiment}, run {MlflowRun}", _client.Display, _experiment, _runId);
                        break;
                    case EpochEnded m when _runId is not null:
                        await _client.LogBatchAsync(_runId, MlflowSync.Metrics(MetricRow.From(m.Metrics)).Where(x => double.IsFinite(x.Value)).ToList(), [], [], _stop.Token);
                        break;
                    case RunEnded when _folder is not null:
                        await _sync.PushAsync(_folder, _experiment, _stop.Token);
                        _ended = true;
                        break;
                }
            }
            catch (Exception ex) when (ex is MlflowUnavailableException or MlflowException or OperationCanceledException or HttpRequestException)
            {
                _failure = ex is OperationCanceledException ? $"MLflow at {_client.Display} did not finish within {_finishTimeout.TotalSeconds:0} s" : ex.Message;
                _log.Warning("{Failure}. Training goes on; the run folder is complete and `exprunner mlflow push {Folder}` will bring MLflow up to date",
                    _failure, _folder?.Dir ?? "RUN");
            }
        }
    }

    private void Warn(string message) => _log.Warning("{Message}", message);

    /// <summary>Waits (bounded) for the queue to drain, then records in mlflow.json what did not arrive.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        if (!_worker.Wait(_finishTimeout))
        {
            _stop.Cancel();
            _worker.Wait(TimeSpan.FromSeconds(5));
            _failure ??= $"MLflow at {_client.Display} did not finish within {_finishTimeout.TotalSeconds:0} s";
            _log.Warning("{Failure}; `exprunner mlflow push` will complete it", _failure);
        }
        if (_folder is not null && (_failure is not null || !_ended))
            new MlflowState
            {
                TrackingUri = _client.Display, Experiment = _experiment, ExperimentId = _experimentId, RunId = _runId, Complete = false,
                Error = _failure, Missing = ["some of params, metrics, artifacts or the final status (run `exprunner mlflow push` to complete)"],
                Updated = _clock.GetUtcNow(),
            }.Write(_folder);
        _stop.Dispose();
        _client.Dispose();
    }
}
