using System.Net;
using System.Text.Json;
using ExpRunner.Cli.Ui;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Ui;

/// <summary>What the UI's server answers to requests a page would not make: it only reads, only inside the runs directory, only for this machine unless told.</summary>
[Collection("ui")]
public class UiServerTests(UiFixture ui)
{
    private static readonly HttpClient Http = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });

    private async Task<(HttpStatusCode Status, string Body)> Get(string path, string? host = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(ui.Server.Address, path));
        if (host is not null) request.Headers.Host = host;
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("..%2F..%2Fcache")]
    [InlineData("%2Fetc%2Fpasswd")]
    [InlineData("sub%2Frun.json")]
    public async Task A_file_outside_a_run_folder_is_refused(string name)
    {
        var (status, body) = await Get($"/api/run/{ui.MnistRun}/file/{name}");
        Assert.True(status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{status}: {body}");
        Assert.DoesNotContain("root:", body);
    }

    [Fact]
    public async Task Dot_segments_never_reach_a_file_outside_the_runs_directory()
    {
        // Sent as written (an HTTP client would resolve the dots itself).
        foreach (var path in new[] { $"/api/run/{ui.MnistRun}/file/../../../../../../etc/passwd", "/../../../../etc/passwd", "/vendor/../../../etc/passwd" })
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, ui.Server.Address.Port, TestContext.Current.CancellationToken);
            var stream = tcp.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), TestContext.Current.CancellationToken);
            string answer = await new StreamReader(stream).ReadToEndAsync(TestContext.Current.CancellationToken);
            Assert.DoesNotContain("root:", answer);
        }
    }

    [Fact]
    public async Task A_link_in_a_run_folder_to_a_file_outside_is_not_followed()
    {
        string dir = Path.Combine(ui.Runs, "mnist-sgd", ui.MnistRun);
        File.CreateSymbolicLink(Path.Combine(dir, "escape.txt"), "/etc/passwd");
        try
        {
            var (status, body) = await Get($"/api/run/{ui.MnistRun}/file/escape.txt");
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.DoesNotContain("root:", body);
            var (ok, config) = await Get($"/api/run/{ui.MnistRun}/file/config.yaml");
            Assert.Equal(HttpStatusCode.OK, ok);
            Assert.Contains("name: mnist-sgd", config);
        }
        finally { File.Delete(Path.Combine(dir, "escape.txt")); }
    }

    [Fact]
    public async Task It_only_reads_and_only_answers_requests_for_this_machine()
    {
        using var post = await Http.PostAsync(new Uri(ui.Server.Address, "/api/runs"), new StringContent(""), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        var (status, body) = await Get("/api/runs", host: "attacker.example:80");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("attacker.example", body);
        Assert.Equal(HttpStatusCode.OK, (await Get("/api/info", host: $"localhost:{ui.Server.Address.Port}")).Status);
    }

    [Fact]
    public async Task A_malformed_filter_or_unknown_key_answers_with_the_message_and_position()
    {
        var (status, body) = await Get("/api/runs?filter=" + Uri.EscapeDataString("metrics.test_accuracy >> 1"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonDocument.Parse(body).RootElement;
        Assert.Equal(23, error.GetProperty("position").GetInt32()); // the second '>'
        (status, body) = await Get("/api/runs?sort=metrics.test_acc");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("did you mean 'metrics.test_accuracy'", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        (status, body) = await Get("/api/runs?limit=100000");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("limit=100000", body);
        (status, _) = await Get("/api/run/no-such-run");
        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task The_runs_answer_follows_the_folders_a_new_run_and_a_deleted_one()
    {
        var before = JsonDocument.Parse((await Get("/api/runs?limit=1")).Body).RootElement.GetProperty("total").GetInt32();
        var r = InProcess.Run("run", Repo.Experiments("xor.yaml"), "--runs", ui.Runs, "--set", "training.epochs=2", "-q");
        Assert.True(r.ExitCode == 0, r.ToString());
        ui.Data.Fresh();
        var (_, body) = await Get("/api/runs?limit=1");
        Assert.Equal(before + 1, JsonDocument.Parse(body).RootElement.GetProperty("total").GetInt32());
        var xor = Directory.GetDirectories(Path.Combine(ui.Runs, "xor")).Single();
        Directory.Delete(xor, recursive: true);
        ui.Data.Fresh();
        Assert.Equal(before, JsonDocument.Parse((await Get("/api/runs?limit=1")).Body).RootElement.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Another_address_needs_the_token_the_command_prints()
    {
        await using var open = await UiServer.StartAsync(ui.Data, IPAddress.Any, 0, TestContext.Current.CancellationToken);
        Assert.NotNull(open.Token);
        var local = new Uri($"http://127.0.0.1:{open.Address.Port}/");
        using var without = await Http.GetAsync(new Uri(local, "/api/info"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        using var wrong = await Http.GetAsync(new Uri(local, "/?token=0123"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using var with = await Http.GetAsync(new Uri(local, "/?token=" + open.Token), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, with.StatusCode);
        string cookie = with.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(local, "/api/info"));
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var after = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public void The_command_refuses_a_bad_port_host_or_runs_directory_with_exit_2()
    {
        Assert.Equal(2, InProcess.Run("ui", "--port", "70000", "--runs", ui.Runs).ExitCode);
        var host = InProcess.Run("ui", "--host", "my laptop", "--runs", ui.Runs);
        Assert.Equal(2, host.ExitCode);
        Assert.Contains("--host my laptop", host.Stderr);
        var missing = InProcess.Run("ui", "--runs", ui.Runs + "-nowhere");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no runs directory", missing.Stderr);
        var busy = InProcess.Run("ui", "--runs", ui.Runs, "--port", ui.Server.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(2, busy.ExitCode);
        Assert.Contains("is in use", busy.Stderr);
    }
}
