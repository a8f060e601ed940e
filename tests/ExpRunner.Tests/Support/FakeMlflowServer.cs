using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace ExpRunner.Tests.Support;

/// <summary>What a fake MLflow server stores; survives a restart of the fake, like a real server's database.</summary>
public sealed class FakeMlflowState
{
    public readonly object Gate = new();
    public readonly Dictionary<string, string> Experiments = new();           // name → id
    public readonly Dictionary<string, FakeRun> Runs = new();
    public readonly ConcurrentDictionary<string, byte[]> Artifacts = new();   // path → bytes
    public bool ProxyArtifacts = true;
}

public sealed class FakeRun
{
    public required string Id, ExperimentId, Name;
    public long StartTime, EndTime;
    public string Status = "RUNNING";
    public readonly Dictionary<string, string> Params = new(), Tags = new();
    public readonly List<(string Key, double Value, long Timestamp, long Step)> Metrics = new();
}

public sealed record RecordedRequest(string Method, string Path, string Query, string Body, string? Authorization);

/// <summary>
/// TEST DOUBLE: an in-process HTTP listener implementing the part of MLflow's REST API 2.0 that
/// ExpRunner uses, with MLflow's limits and error shapes; records every request and can inject faults.
/// </summary>
public sealed class FakeMlflowServer : IDisposable
{
    public FakeMlflowState State { get; }
    public string Url { get; }
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();
    /// <summary>Return a status code to fail a request with it (null: handle normally).</summary>
    public Func<RecordedRequest, int?>? Fault { get; set; }
    public TimeSpan Delay { get; set; }
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private int _next;

    public FakeMlflowServer(FakeMlflowState? state = null, int port = 0)
    {
        State = state ?? new FakeMlflowState();
        if (port == 0) port = FreePort();
        Url = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Url + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public IEnumerable<RecordedRequest> To(string pathEnd) => Requests.Where(r => r.Path.EndsWith(pathEnd, StringComparison.Ordinal));

    public void Dispose()
    {
        try { _listener.Stop(); _listener.Close(); } catch (ObjectDisposedException) { }
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => Serve(ctx));
        }
    }

    private async Task Serve(HttpListenerContext ctx)
    {
        string body;
        byte[] raw;
        using (var ms = new MemoryStream()) { await ctx.Request.InputStream.CopyToAsync(ms); raw = ms.ToArray(); }
        body = Encoding.UTF8.GetString(raw);
        var req = new RecordedRequest(ctx.Request.HttpMethod, ctx.Request.Url!.AbsolutePath, ctx.Request.Url.Query, body, ctx.Request.Headers["Authorization"]);
        Requests.Enqueue(req);
        if (Delay > TimeSpan.Zero) await Task.Delay(Delay);
        int status = 200;
        JsonNode response;
        if (Fault?.Invoke(req) is int fault) { status = fault; response = Error(fault == 400 ? "INVALID_PARAMETER_VALUE" : "INTERNAL_ERROR", "injected fault"); }
        else
        {
            try { (status, response) = Handle(req, raw); }
            catch (Exception e) { (status, response) = (500, Error("INTERNAL_ERROR", e.Message)); }
        }
        try
        {
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            byte[] bytes = Encoding.UTF8.GetBytes(response.ToJsonString());
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
        catch (Exception) { }
    }

    private static JsonObject Error(string code, string message) => new() { ["error_code"] = code, ["message"] = message };

    private (int, JsonNode) Handle(RecordedRequest r, byte[] raw)
    {
        var q = System.Web.HttpUtility.ParseQueryString(r.Query);
        var b = r.Method == "POST" ? JsonNode.Parse(r.Body)! : null;
        const string api = "/api/2.0/mlflow/";
        lock (State.Gate)
        {
            if (r.Method == "PUT" && r.Path.StartsWith("/api/2.0/mlflow-artifacts/artifacts/", StringComparison.Ordinal))
            {
                State.Artifacts[Uri.UnescapeDataString(r.Path["/api/2.0/mlflow-artifacts/artifacts/".Length..])] = raw;
                return (200, new JsonObject());
            }
            switch (r.Method + " " + r.Path[api.Length..])
            {
                case "GET experiments/get-by-name":
                    return State.Experiments.TryGetValue(q["experiment_name"]!, out var id)
                        ? (200, new JsonObject { ["experiment"] = new JsonObject { ["experiment_id"] = id, ["name"] = q["experiment_name"] } })
                        : (404, Error("RESOURCE_DOES_NOT_EXIST", $"Could not find experiment with name '{q["experiment_name"]}'"));
                case "POST experiments/create":
                {
                    string name = b!["name"]!.GetValue<string>();
                    if (State.Experiments.ContainsKey(name)) return (400, Error("RESOURCE_ALREADY_EXISTS", $"Experiment '{name}' already exists."));
                    State.Experiments[name] = (State.Experiments.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return (200, new JsonObject { ["experiment_id"] = State.Experiments[name] });
                }
                case "POST runs/create":
                {
                    var run = new FakeRun { Id = $"run{Interlocked.Increment(ref _next)}x{State.Runs.Count}", ExperimentId = b!["experiment_id"]!.GetValue<string>(),
                        Name = b["run_name"]?.GetValue<string>() ?? "", StartTime = b["start_time"]!.GetValue<long>() };
                    foreach (var t in b["tags"]!.AsArray()) run.Tags[t!["key"]!.GetValue<string>()] = t["value"]!.GetValue<string>();
                    State.Runs[run.Id] = run;
                    return (200, new JsonObject { ["run"] = RunJson(run) });
                }
                case "GET runs/get":
                    return State.Runs.TryGetValue(q["run_id"]!, out var got) ? (200, new JsonObject { ["run"] = RunJson(got) })
                        : (404, Error("RESOURCE_DOES_NOT_EXIST", "Run not found"));
                case "POST runs/search":
                {
                    string filter = b!["filter"]?.GetValue<string>() ?? "";
                    var m = System.Text.RegularExpressions.Regex.Match(filter, @"^tags\.`([^`]+)` = '([^']*)'$");
                    var ids = b["experiment_ids"]!.AsArray().Select(x => x!.GetValue<string>()).ToHashSet();
                    var found = State.Runs.Values.Where(x => ids.Contains(x.ExperimentId) && m.Success
                        && x.Tags.TryGetValue(m.Groups[1].Value, out var v) && v == m.Groups[2].Value).ToList();
                    // Like MLflow: an empty result omits the "runs" key.
                    return (200, found.Count == 0 ? new JsonObject() : new JsonObject { ["runs"] = new JsonArray(found.Select(x => (JsonNode)RunJson(x)).ToArray()) });
                }
                case "POST runs/log-batch":
                {
                    var run = State.Runs[b!["run_id"]!.GetValue<string>()];
                    var metrics = b["metrics"]?.AsArray() ?? [];
                    var ps = b["params"]?.AsArray() ?? [];
                    var tags = b["tags"]?.AsArray() ?? [];
                    if (metrics.Count > 1000 || ps.Count > 100 || tags.Count > 100 || metrics.Count + ps.Count + tags.Count > 1000)
                        return (400, Error("INVALID_PARAMETER_VALUE", "A batch logging request can contain at most 1000 metrics, 100 params, 100 tags and 1000 items"));
                    foreach (var p in ps)
                    {
                        string k = p!["key"]!.GetValue<string>(), v = p["value"]!.GetValue<string>();
                        if (v.Length > 500) return (400, Error("INVALID_PARAMETER_VALUE", "param value too long"));
                        if (run.Params.TryGetValue(k, out var old) && old != v)
                            return (400, Error("INVALID_PARAMETER_VALUE", $"Changing param values is not allowed. Param with key='{k}' was already logged with value='{old}'"));
                        run.Params[k] = v;
                    }
                    foreach (var t in tags) run.Tags[t!["key"]!.GetValue<string>()] = t["value"]!.GetValue<string>();
                    foreach (var x in metrics)
                        run.Metrics.Add((x!["key"]!.GetValue<string>(), x["value"]!.GetValue<double>(), x["timestamp"]!.GetValue<long>(), x["step"]!.GetValue<long>()));
                    return (200, new JsonObject());
                }
                case "GET metrics/get-history":
                {
                    var run = State.Runs[q["run_id"]!];
                    var hist = run.Metrics.Where(x => x.Key == q["metric_key"]).ToList();
                    return (200, hist.Count == 0 ? new JsonObject() : new JsonObject { ["metrics"] = new JsonArray(hist.Select(x => (JsonNode)new JsonObject
                        { ["key"] = x.Key, ["value"] = x.Value, ["timestamp"] = x.Timestamp, ["step"] = x.Step }).ToArray()) });
                }
                case "POST runs/update":
                {
                    var run = State.Runs[b!["run_id"]!.GetValue<string>()];
                    run.Status = b["status"]!.GetValue<string>();
                    run.EndTime = b["end_time"]!.GetValue<long>();
                    return (200, new JsonObject { ["run_info"] = Info(run) });
                }
            }
        }
        return (404, Error("ENDPOINT_NOT_FOUND", $"No endpoint {r.Method} {r.Path}"));
    }

    private JsonObject Info(FakeRun run) => new()
    {
        ["run_id"] = run.Id, ["run_uuid"] = run.Id, ["experiment_id"] = run.ExperimentId, ["run_name"] = run.Name, ["status"] = run.Status,
        ["start_time"] = run.StartTime,
        ["artifact_uri"] = State.ProxyArtifacts ? $"mlflow-artifacts:/{run.ExperimentId}/{run.Id}/artifacts" : $"file:///tmp/mlruns/{run.ExperimentId}/{run.Id}/artifacts",
    };

    private JsonObject RunJson(FakeRun run) => new()
    {
        ["info"] = Info(run),
        ["data"] = new JsonObject
        {
            ["params"] = new JsonArray(run.Params.Select(p => (JsonNode)new JsonObject { ["key"] = p.Key, ["value"] = p.Value }).ToArray()),
            ["tags"] = new JsonArray(run.Tags.Select(p => (JsonNode)new JsonObject { ["key"] = p.Key, ["value"] = p.Value }).ToArray()),
        },
    };
}
