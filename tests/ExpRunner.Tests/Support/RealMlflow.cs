using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace ExpRunner.Tests.Support;

/// <summary>
/// The real MLflow tracking servers `make test` starts (tests/run.sh, tests/mlflow/server.sh), and
/// reading back what reached them through MLflow's REST API with a plain HttpClient (not ours).
/// Without them the tests that need them fail and say so.
/// </summary>
public sealed class RealMlflow(string uri, string? user = null, string? password = null) : IDisposable
{
    public string Uri { get; } = uri;
    private readonly HttpClient _http = Client(uri, user, password);

    private static HttpClient Client(string uri, string? user, string? password)
    {
        var http = new HttpClient { BaseAddress = new Uri(uri.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (user is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return http;
    }

    private static string Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v
        : throw new InvalidOperationException($"MLFLOW SERVER NOT RUNNING: ${name} is not set; these tests need the real MLflow servers `make test` starts (tests/run.sh)");

    public static RealMlflow Plain() => new(Env("MLFLOW_TEST_URI"));
    public static RealMlflow Admin() => new(Env("MLFLOW_TEST_AUTH_URI"), "admin", "exprunner-test-pw");
    public static string AuthUri => Env("MLFLOW_TEST_AUTH_URI");

    public JsonNode Get(string path) => JsonNode.Parse(_http.GetStringAsync(path).GetAwaiter().GetResult())!;

    public JsonNode Post(string path, JsonNode body)
    {
        using var r = _http.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json")).GetAwaiter().GetResult();
        string text = r.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        Assert.True(r.IsSuccessStatusCode, $"POST {path}: {(int)r.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    public JsonNode Run(string runId) => Get($"api/2.0/mlflow/runs/get?run_id={runId}")["run"]!;

    public static Dictionary<string, string> Pairs(JsonNode? array) =>
        array is JsonArray a ? a.ToDictionary(x => x!["key"]!.GetValue<string>(), x => x!["value"]!.ToString()) : [];

    public List<(long Step, double Value, long Timestamp)> History(string runId, string key) =>
        Get($"api/2.0/mlflow/metrics/get-history?run_id={runId}&metric_key={System.Uri.EscapeDataString(key)}&max_results=100000")["metrics"] is JsonArray m
            ? m.Select(x => (x!["step"]!.GetValue<long>(), x["value"]!.GetValue<double>(), x["timestamp"]!.GetValue<long>())).ToList() : [];

    public string ExperimentId(string name) => Get($"api/2.0/mlflow/experiments/get-by-name?experiment_name={System.Uri.EscapeDataString(name)}")["experiment"]!["experiment_id"]!.GetValue<string>();

    /// <summary>Every run of an experiment (search answers "{}" when there is none).</summary>
    public List<JsonNode> Runs(string experimentId) =>
        Post("api/2.0/mlflow/runs/search", new JsonObject { ["experiment_ids"] = new JsonArray(experimentId), ["max_results"] = 1000 })["runs"] is JsonArray runs
            ? runs.Select(r => r!).ToList() : [];

    /// <summary>A run's artifact, through the server's artifact proxy.</summary>
    public byte[] Artifact(JsonNode run, string file)
    {
        string root = run["info"]!["artifact_uri"]!.GetValue<string>().Replace("mlflow-artifacts:/", "");
        return _http.GetByteArrayAsync($"api/2.0/mlflow-artifacts/artifacts/{root}/{file}").GetAwaiter().GetResult();
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A server of one's own (for a test that stops and starts it), stopped when disposed.</summary>
    public sealed class Own : IDisposable
    {
        private readonly string _state;
        public string Uri { get; }
        public int Port { get; }

        public Own(string name)
        {
            _state = Path.Combine(Env("MLFLOW_TEST_STATE"), name);
            using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            probe.Start();
            Port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Uri = Start();
        }

        public string Start() => Script("start", _state, Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Trim();
        public void Stop() => Script("stop", _state);

        private static string Script(params string[] args)
        {
            var psi = new ProcessStartInfo(Env("MLFLOW_TEST_SERVER")) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"server.sh {string.Join(' ', args)}: {error}");
            return output;
        }

        public void Dispose() => Stop();
    }
}
