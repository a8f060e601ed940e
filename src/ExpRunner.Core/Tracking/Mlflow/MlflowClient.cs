using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ExpRunner.Tracking.Mlflow;

/// <summary>Where the tracking server is and how to authenticate; credentials never appear in <see cref="Display"/>.</summary>
public sealed record MlflowConnection(Uri Uri, string? Token = null, string? User = null, string? Password = null, bool InsecureTls = false)
{
    public string Display => new UriBuilder(Uri) { UserName = "", Password = "" }.Uri.ToString().TrimEnd('/');

    /// <summary>Command-line flag beats config, config beats MLFLOW_TRACKING_URI; null when none is set.</summary>
    public static MlflowConnection? Resolve(string? flag, string? config, Func<string, string?> env)
    {
        string? uri = flag ?? config ?? env("MLFLOW_TRACKING_URI");
        if (string.IsNullOrWhiteSpace(uri)) return null;
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            string source = flag is not null ? "--mlflow" : config is not null ? "tracking.mlflow.uri" : "$MLFLOW_TRACKING_URI";
            throw new Config.ConfigException([new Config.ConfigError(source, "", $"MLflow tracking URI '{Redact(uri)}' is not an http(s) URL")]);
        }
        string? user = env("MLFLOW_TRACKING_USERNAME"), password = env("MLFLOW_TRACKING_PASSWORD");
        if (parsed.UserInfo.Length > 0 && user is null)
        {
            var parts = parsed.UserInfo.Split(':', 2);
            user = Uri.UnescapeDataString(parts[0]);
            password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : null;
        }
        bool insecure = env("MLFLOW_TRACKING_INSECURE_TLS") is { } i && i.Trim().ToLowerInvariant() is "true" or "1" or "yes";
        return new MlflowConnection(parsed, env("MLFLOW_TRACKING_TOKEN"), user, password, insecure);
    }

    private static string Redact(string uri) => Uri.TryCreate(uri, UriKind.Absolute, out var u) && u.UserInfo.Length > 0 ? uri.Replace(u.UserInfo, "***") : uri;
}

/// <summary>An answer from the server that retrying will not change (a 4xx): our request was wrong.</summary>
public sealed class MlflowException(string message, int status, string? errorCode) : Exception(message)
{
    public int Status { get; } = status;
    public string? ErrorCode { get; } = errorCode;
}

/// <summary>The server could not be reached (after retries): connection refused, timeouts, 429 or 5xx.</summary>
public sealed class MlflowUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

public sealed record MlflowRunInfo(string RunId, string ExperimentId, string ArtifactUri, string Status);

public sealed record MlflowMetric(string Key, double Value, long Timestamp, long Step);

/// <summary>
/// A typed client for the subset of MLflow's REST API 2.0 that ExpRunner uses. Every call goes
/// through <see cref="SendAsync"/>: authentication, JSON, timeouts, and retries with exponential
/// backoff on connection errors, timeouts, 429 and 5xx.
/// </summary>
public sealed class MlflowClient : IDisposable
{
    public const int MaxMetrics = 1000, MaxParams = 100, MaxTags = 100, MaxItems = 1000;
    public const int MaxParamValue = 500, MaxTagValue = 5000, MaxKey = 250;
    public const string Truncated = "...[truncated]";
    private readonly HttpClient _http;
    private readonly MlflowConnection _connection;
    /// <summary>Waits between attempts of a request that failed transiently (a busy server's SQLite answers 500 "database is locked").</summary>
    public IReadOnlyList<TimeSpan> RetryDelays { get; init; } = [TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)];
    public string Display => _connection.Display;

    public MlflowClient(MlflowConnection connection, HttpMessageHandler? handler = null, TimeSpan? timeout = null)
    {
        _connection = connection;
        if (handler is null)
        {
            var h = new HttpClientHandler();
            // MLflow's own MLFLOW_TRACKING_INSECURE_TLS=true, asked for by the user, and said in a warning when used.
#pragma warning disable MA0039
            if (connection.InsecureTls) h.ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator;
#pragma warning restore MA0039
            handler = h;
        }
        _http = new HttpClient(handler) { BaseAddress = new Uri(connection.Display + "/"), Timeout = timeout ?? TimeSpan.FromSeconds(15) };
        if (connection.Token is { } token) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        else if (connection.User is { } user)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{connection.Password}")));
    }

    public void Dispose() => _http.Dispose();

    public async Task<string> GetOrCreateExperimentAsync(string name, CancellationToken ct)
    {
        if (await GetExperimentIdAsync(name, ct) is { } id) return id;
        try
        {
            var created = await SendAsync(HttpMethod.Post, "api/2.0/mlflow/experiments/create", new JsonObject { ["name"] = name }, ct);
            return created["experiment_id"]!.GetValue<string>();
        }
        catch (MlflowException e) when (e.ErrorCode == "RESOURCE_ALREADY_EXISTS")
        {
            // Another process created it between our get and create.
            return await GetExperimentIdAsync(name, ct) ?? throw new MlflowException($"experiment '{name}' exists but cannot be found", e.Status, e.ErrorCode);
        }
    }

    private async Task<string?> GetExperimentIdAsync(string name, CancellationToken ct)
    {
        try
        {
            var r = await SendAsync(HttpMethod.Get, "api/2.0/mlflow/experiments/get-by-name?experiment_name=" + Uri.EscapeDataString(name), null, ct);
            return r["experiment"]?["experiment_id"]?.GetValue<string>();
        }
        catch (MlflowException e) when (e.ErrorCode == "RESOURCE_DOES_NOT_EXIST" || e.Status == 404) { return null; }
    }

    public async Task<MlflowRunInfo> CreateRunAsync(string experimentId, string runName, long startTimeMs, IEnumerable<KeyValuePair<string, string>> tags,
        string? user, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["experiment_id"] = experimentId, ["run_name"] = runName, ["start_time"] = startTimeMs, ["user_id"] = user ?? "",
            ["tags"] = new JsonArray(tags.Select(t => (JsonNode)KeyValue(t.Key, t.Value, MaxTagValue)).ToArray()),
        };
        var r = await SendAsync(HttpMethod.Post, "api/2.0/mlflow/runs/create", body, ct);
        return Info(r["run"]!["info"]!);
    }

    public async Task<(MlflowRunInfo Info, Dictionary<string, string> Params, Dictionary<string, string> Tags)> GetRunAsync(string runId, CancellationToken ct)
    {
        var r = await SendAsync(HttpMethod.Get, "api/2.0/mlflow/runs/get?run_id=" + Uri.EscapeDataString(runId), null, ct);
        var run = r["run"]!;
        return (Info(run["info"]!), Pairs(run["data"]?["params"]), Pairs(run["data"]?["tags"]));
    }

    /// <summary>The run of an experiment carrying tag key = value, or null. (An empty result is "{}".)</summary>
    public async Task<MlflowRunInfo?> FindRunByTagAsync(string experimentId, string key, string value, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["experiment_ids"] = new JsonArray(experimentId),
            ["filter"] = $"tags.`{key}` = '{value.Replace("'", "\\'")}'",
            ["max_results"] = 1,
        };
        var r = await SendAsync(HttpMethod.Post, "api/2.0/mlflow/runs/search", body, ct);
        return r["runs"] is JsonArray { Count: > 0 } runs ? Info(runs[0]!["info"]!) : null;
    }

    public async Task<List<MlflowMetric>> GetMetricHistoryAsync(string runId, string key, CancellationToken ct)
    {
        var all = new List<MlflowMetric>();
        string? page = null;
        do
        {
            string path = $"api/2.0/mlflow/metrics/get-history?run_id={Uri.EscapeDataString(runId)}&metric_key={Uri.EscapeDataString(key)}&max_results=25000"
                + (page is null ? "" : "&page_token=" + Uri.EscapeDataString(page));
            var r = await SendAsync(HttpMethod.Get, path, null, ct);
            if (r["metrics"] is JsonArray metrics)
                all.AddRange(metrics.Select(m => new MlflowMetric(key, m!["value"]!.GetValue<double>(), Long(m["timestamp"]), Long(m["step"]))));
            page = r["next_page_token"]?.GetValue<string>();
        } while (!string.IsNullOrEmpty(page));
        return all;
    }

    /// <summary>runs/log-batch, split into requests within MLflow's limits (1000 metrics, 100 params, 100 tags, 1000 items).</summary>
    public async Task LogBatchAsync(string runId, IReadOnlyList<MlflowMetric> metrics, IReadOnlyList<KeyValuePair<string, string>> parameters,
        IReadOnlyList<KeyValuePair<string, string>> tags, CancellationToken ct)
    {
        int m = 0, p = 0, t = 0;
        while (m < metrics.Count || p < parameters.Count || t < tags.Count)
        {
            int nt = Math.Min(MaxTags, tags.Count - t);
            int np = Math.Min(MaxParams, parameters.Count - p);
            np = Math.Min(np, MaxItems - nt);
            int nm = Math.Min(Math.Min(MaxMetrics, metrics.Count - m), MaxItems - nt - np);
            var body = new JsonObject
            {
                ["run_id"] = runId,
                ["metrics"] = new JsonArray(metrics.Skip(m).Take(nm).Select(x => (JsonNode)new JsonObject
                    { ["key"] = x.Key, ["value"] = x.Value, ["timestamp"] = x.Timestamp, ["step"] = x.Step }).ToArray()),
                ["params"] = new JsonArray(parameters.Skip(p).Take(np).Select(x => (JsonNode)KeyValue(x.Key, x.Value, MaxParamValue)).ToArray()),
                ["tags"] = new JsonArray(tags.Skip(t).Take(nt).Select(x => (JsonNode)KeyValue(x.Key, x.Value, MaxTagValue)).ToArray()),
            };
            await SendAsync(HttpMethod.Post, "api/2.0/mlflow/runs/log-batch", body, ct);
            m += nm; p += np; t += nt;
        }
    }

    /// <summary>Removes a tag from a run (runs/delete-tag).</summary>
    public Task DeleteTagAsync(string runId, string key, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "api/2.0/mlflow/runs/delete-tag", new JsonObject { ["run_id"] = runId, ["key"] = key }, ct);

    /// <summary>Sets a run's status, and its end time when it has ended (null: a run going on again).</summary>
    public Task UpdateRunAsync(string runId, string status, long? endTimeMs, CancellationToken ct)
    {
        var body = new JsonObject { ["run_id"] = runId, ["status"] = status };
        if (endTimeMs is long end) body["end_time"] = end;
        return SendAsync(HttpMethod.Post, "api/2.0/mlflow/runs/update", body, ct);
    }

    /// <summary>
    /// Uploads a file through the artifact proxy (PUT /api/2.0/mlflow-artifacts/artifacts/PATH).
    /// Returns false when the run's artifact_uri is not served by the proxy (mlflow-artifacts:).
    /// </summary>
    public async Task<bool> UploadArtifactAsync(string artifactUri, string relativePath, byte[] content, CancellationToken ct)
    {
        const string scheme = "mlflow-artifacts:";
        if (!artifactUri.StartsWith(scheme, StringComparison.Ordinal)) return false;
        string rest = artifactUri[scheme.Length..];
        if (rest.StartsWith("//", StringComparison.Ordinal)) rest = rest[(rest.IndexOf('/', 2) is int slash and >= 0 ? slash : rest.Length)..];
        string path = string.Join('/', (rest.Trim('/') + "/" + relativePath).Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.EscapeDataString));
        await SendAsync(HttpMethod.Put, "api/2.0/mlflow-artifacts/artifacts/" + path, content, ct);
        return true;
    }

    /// <summary>The one place requests are made: JSON in and out, retries on transient failures.</summary>
    public async Task<JsonNode> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is JsonNode json) request.Content = new StringContent(json.ToJsonString(), Encoding.UTF8, "application/json");
            else if (body is byte[] bytes) request.Content = new ByteArrayContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } };
            string failure;
            Exception? inner = null;
            try
            {
                using var response = await _http.SendAsync(request, ct);
                string text = await response.Content.ReadAsStringAsync(ct);
                if (response.IsSuccessStatusCode)
                    return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text) ?? new JsonObject();
                int status = (int)response.StatusCode;
                if (status != 429 && status < 500)
                {
                    string? code = null, message = text;
                    try
                    {
                        var err = JsonNode.Parse(text);
                        code = err?["error_code"]?.GetValue<string>();
                        message = err?["message"]?.GetValue<string>() ?? text;
                    }
                    catch (JsonException) { }
                    string why = string.Join(" ", new[] { status.ToString(System.Globalization.CultureInfo.InvariantCulture), code, message?.Trim().TrimEnd('.') }.Where(x => !string.IsNullOrWhiteSpace(x)));
                    throw new MlflowException($"MLflow rejected {method} /{path.Split('?')[0]}: {why}", status, code);
                }
                failure = $"HTTP {status}";
            }
            catch (HttpRequestException e) { failure = e.Message; inner = e; }
            catch (TaskCanceledException e) when (!ct.IsCancellationRequested) { failure = "timed out"; inner = e; }
            if (attempt >= RetryDelays.Count)
                throw new MlflowUnavailableException($"MLflow at {Display} is unavailable ({failure}, {attempt + 1} attempts)", inner);
            await Task.Delay(RetryDelays[attempt], ct);
        }
    }

    private static JsonObject KeyValue(string key, string value, int max) => new()
    {
        ["key"] = key.Length <= MaxKey ? key : key[..MaxKey],
        ["value"] = value.Length <= max ? value : value[..(max - Truncated.Length)] + Truncated,
    };

    private static MlflowRunInfo Info(JsonNode info) => new(
        info["run_id"]?.GetValue<string>() ?? info["run_uuid"]!.GetValue<string>(),
        info["experiment_id"]!.GetValue<string>(),
        info["artifact_uri"]?.GetValue<string>() ?? "",
        info["status"]?.GetValue<string>() ?? "");

    private static Dictionary<string, string> Pairs(JsonNode? array) =>
        array is JsonArray a ? a.Where(x => x is not null).ToDictionary(x => x!["key"]!.GetValue<string>(), x => x!["value"]?.GetValue<string>() ?? "") : [];

    private static long Long(JsonNode? n) => n is null ? 0 : n.GetValueKind() == JsonValueKind.String ? long.Parse(n.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) : n.GetValue<long>();
}
