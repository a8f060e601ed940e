using System.Globalization;
using System.Threading.Channels;
using ExpRunner.Config;
using ExpRunner.IO;
using ExpRunner.Tracking;
using ExpRunner.Tracking.Mlflow;

namespace ExpRunner.Sweeps;

/// <summary>
/// A sweep as a parent run in MLflow, its trials as child runs (mlflow.parentRunId), the way MLflow
/// users know from Hydra and Optuna: the parent carries the config, the swept keys and the trial
/// count as params, how many trials ended and the best trial's metrics as they become known, and
/// the sweep's status. The parent's id is kept in the sweep folder (mlflow.json), so a resume —
/// local or on Slurm — goes on with the same parent. Best effort: a server that fails is reported
/// once, and the sweep goes on.
/// </summary>
public sealed class MlflowSweepMirror : IDisposable
{
    public const string File = "mlflow.json";
    private readonly MlflowClient _client;
    private readonly Action<string> _warn;
    private readonly TimeProvider _clock;
    private readonly Channel<Func<Task>> _queue = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _worker;
    private readonly CancellationTokenSource _stop = new();
    private bool _failed;
    private long _endings;                                   // trial endings over the sweep's life: the parent's metric step
    private (TrialRecord Trial, RunSummary Summary, double Value)? _best;

    public string RunId { get; }
    public string Experiment { get; }

    private MlflowSweepMirror(MlflowClient client, string experiment, string runId, Action<string> warn, TimeProvider clock, SweepStore store, SweepRecord sweep)
    {
        _client = client; Experiment = experiment; RunId = runId; _warn = warn; _clock = clock;
        // What earlier runs of the sweep ended (a resume goes on counting) and the best so far.
        _endings = sweep.Trials.Sum(t => t.InFlight || t.Status == TrialStatus.Pending ? Math.Max(0, t.Attempts - 1) : t.Attempts);
        foreach (var t in sweep.Trials) Consider(store, t);
        _worker = Task.Run(WorkAsync);
    }

    /// <summary>The sweep's MLflow state (parent run, server, experiment), or null when it is not mirrored.</summary>
    public static MlflowState? Read(SweepStore store, string sweepId)
    {
        string path = store.PathOf(sweepId, File);
        try { return System.IO.File.Exists(path) ? Json.Deserialize<MlflowState>(BoundedFile.ReadText(path, 1 << 20)) : null; }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or IOException) { return null; }
    }

    /// <summary>Finds the sweep's parent run (from an earlier start) or creates it; null when the server cannot be reached (warned).</summary>
    public static async Task<MlflowSweepMirror?> StartAsync(MlflowClient client, string experiment, SweepStore store, SweepRecord sweep,
        ExperimentConfig config, Action<string> warn, TimeProvider clock, CancellationToken ct)
    {
        try
        {
            string experimentId = await client.GetOrCreateExperimentAsync(experiment, ct);
            string? runId = Read(store, sweep.Id) is { } known && known.ExperimentId == experimentId ? known.RunId : null;
            if (runId is not null)
            {
                try { await client.GetRunAsync(runId, ct); }
                catch (MlflowException e) when (e.Status == 404 || e.ErrorCode == "RESOURCE_DOES_NOT_EXIST") { runId = null; }
            }
            if (runId is null)
            {
                var tags = new List<KeyValuePair<string, string>>
                {
                    new("mlflow.runName", $"sweep {sweep.Id}"), new("mlflow.source.name", sweep.SourceConfig ?? ""), new("mlflow.source.type", "LOCAL"),
                    new("exprunner.sweep_id", sweep.Id), new("exprunner.experiment", sweep.Experiment), new("exprunner.executor", sweep.Executor),
                };
                if (sweep.GitCommit is { } commit) tags.Add(new("mlflow.source.git.commit", commit));
                var info = await client.CreateRunAsync(experimentId, $"sweep {sweep.Id}", sweep.Created.ToUnixTimeMilliseconds(), tags, Environment.UserName, ct);
                runId = info.RunId;
                var parameters = ConfigWriter.Flatten(config).Where(p => !sweep.SweptKeys.Contains(p.Key) && p.Key != "seed").ToList();
                parameters.Add(new("sweep.swept_keys", string.Join(",", sweep.SweptKeys)));
                parameters.Add(new("sweep.trials", sweep.Trials.Count.ToString(CultureInfo.InvariantCulture)));
                parameters.Add(new("sweep.repeats", sweep.Repeats.ToString(CultureInfo.InvariantCulture)));
                await client.LogBatchAsync(runId, [], parameters, [], ct);
            }
            else await client.UpdateRunAsync(runId, RunStatus.Running, null, ct);
            Atomic.WriteText(store.PathOf(sweep.Id, File), Json.Serialize(new MlflowState
            {
                TrackingUri = client.Display, Experiment = experiment, ExperimentId = experimentId, RunId = runId, Complete = false, Updated = clock.GetUtcNow(),
            }));
            return new MlflowSweepMirror(client, experiment, runId, warn, clock, store, sweep);
        }
        catch (Exception e) when (e is MlflowUnavailableException or MlflowException or HttpRequestException or OperationCanceledException)
        {
            warn($"the sweep is not mirrored to MLflow: {e.Message.TrimEnd('.')}");
            client.Dispose();
            return null;
        }
    }

    /// <summary>After trials end: how many ended and failed, and the best trial's final metrics so far (step = trial endings so far).</summary>
    public void Progress(SweepStore store, SweepProgress p)
    {
        var ended = p.Changed.Where(t => !t.InFlight).ToList();
        if (ended.Count == 0) return;
        _endings += ended.Count;
        foreach (var t in ended) Consider(store, t);
        long step = _endings, at = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var metrics = new List<MlflowMetric>
        {
            new("trials_ended", p.Counts.Ended, at, step), new("trials_finished", p.Counts.Finished, at, step),
            new("trials_failed", p.Counts.Failed + p.Counts.Killed + p.Counts.Crashed, at, step), new("trials_diverged", p.Counts.Diverged, at, step),
            new("trials_pruned", p.Counts.Pruned, at, step),
        };
        var tags = new List<KeyValuePair<string, string>>();
        if (_best is var (trial, summary, _))
        {
            metrics.AddRange(summary.Final.Where(f => double.IsFinite(f.Value)).Select(f => new MlflowMetric("best_" + f.Key, f.Value, at, step)));
            tags.Add(new("exprunner.best_trial", trial.Index.ToString(CultureInfo.InvariantCulture)));
            tags.Add(new("exprunner.best_run", summary.Id));
        }
        _queue.Writer.TryWrite(() => _client.LogBatchAsync(RunId, metrics, [], tags, _stop.Token));
    }

    /// <summary>A finished trial becomes the best when its final validation accuracy (else training loss: <see cref="ModelSelection"/>) beats the best so far.</summary>
    private void Consider(SweepStore store, TrialRecord t)
    {
        if (t.Status != RunStatus.Finished || store.RunDirOf(t) is not { } dir) return;
        RunSummary? summary;
        try { summary = RunFolder.Open(dir).ReadSummary(); }
        catch (Exception e) when (e is InvalidDataException or IOException) { return; }
        if (summary is null) return;
        double v = ModelSelection.Score(summary.Final) ?? double.NegativeInfinity;
        if (_best is null || v > _best.Value.Value) _best = (t, summary, v);
    }

    /// <summary>The sweep's status on the parent run (RUNNING stays open: a sweep left running in a scheduler).</summary>
    public void End(SweepRecord sweep)
    {
        if (sweep.Status == RunStatus.Running) return;
        string status = MlflowSync.MlflowStatus(sweep.Status);
        long end = (sweep.Ended ?? _clock.GetUtcNow()).ToUnixTimeMilliseconds();
        _queue.Writer.TryWrite(() => _client.LogBatchAsync(RunId, [], [], [new("exprunner.status", sweep.Status)], _stop.Token));
        _queue.Writer.TryWrite(() => _client.UpdateRunAsync(RunId, status, end, _stop.Token));
    }

    private async Task WorkAsync()
    {
        await foreach (var send in _queue.Reader.ReadAllAsync(CancellationToken.None))
        {
            if (_failed) continue;
            try { await send(); }
            catch (Exception e) when (e is MlflowUnavailableException or MlflowException or HttpRequestException or OperationCanceledException)
            {
                _failed = true;
                _warn($"the sweep's MLflow run {RunId} is no longer updated: {e.Message.TrimEnd('.')}");
            }
        }
    }

    /// <summary>Sends what is queued (at most 30 s more), then lets go.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _stop.CancelAfter(TimeSpan.FromSeconds(30));
        try { _worker.Wait(); } catch (AggregateException) { }
        _stop.Dispose();
        _client.Dispose();
    }
}
