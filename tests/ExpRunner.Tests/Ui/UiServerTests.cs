using ExpRunner.Tracking;
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
    public async Task The_run_page_shows_no_log_or_config_that_links_outside_the_runs_directory()
    {
        string dir = Path.Combine(ui.Runs, "mnist-sgd", ui.MnistRun);
        string log = Path.Combine(dir, "log.txt"), kept = log + ".kept";
        File.Move(log, kept);
        File.CreateSymbolicLink(log, "/etc/passwd");
        try
        {
            var (status, body) = await Get($"/api/run/{ui.MnistRun}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.DoesNotContain("root:", body);
            var page = JsonDocument.Parse(body).RootElement;
            Assert.False(page.TryGetProperty("log", out var shown) && shown.ValueKind != JsonValueKind.Null, "the log is shown");
            Assert.Contains(page.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("log.txt links outside the runs directory"));
            Assert.DoesNotContain(page.GetProperty("files").EnumerateArray(), f => f.GetProperty("name").GetString() == "log.txt");
            Assert.Contains("name: mnist-sgd", page.GetProperty("config").GetProperty("text").GetString());
        }
        finally { File.Delete(log); File.Move(kept, log); }
    }

    [Fact]
    public async Task A_run_folder_that_is_a_link_to_outside_the_runs_directory_is_not_served()
    {
        using var outside = new TempDir();
        string source = Path.Combine(ui.Runs, "mnist-sgd", ui.MnistRun);
        // A copy of a real run outside the runs directory, linked in under another experiment.
        string copy = Path.Combine(outside.Path, "20991231-000000-linked");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(copy, "run.json"))).RootElement.ToString()
            .Replace(ui.MnistRun, "20991231-000000-linked", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(copy, "run.json"), record);
        File.WriteAllText(Path.Combine(copy, "secret.txt"), "outside the runs directory");
        string link = Path.Combine(ui.Runs, "linked-exp");
        Directory.CreateDirectory(link);
        Directory.CreateSymbolicLink(Path.Combine(link, "20991231-000000-linked"), copy);
        try
        {
            ui.Data.Fresh();
            Assert.NotNull(ui.Data.Find("20991231-000000-linked")); // listed, as a folder of the runs directory
            Assert.Contains("links outside the runs directory", (await Get("/api/run/20991231-000000-linked")).Body);
            foreach (var path in new[] { "/api/run/20991231-000000-linked", "/api/run/20991231-000000-linked/file/secret.txt", "/api/run/20991231-000000-linked/file/config.yaml" })
            {
                var (status, body) = await Get(path);
                Assert.True(status == HttpStatusCode.NotFound, $"{path}: {status} {body}");
                Assert.DoesNotContain("outside the runs directory\"", body);
                Assert.DoesNotContain("name: mnist-sgd", body);
            }
        }
        finally { Directory.Delete(link, recursive: true); ui.Data.Fresh(); }
    }

    [Fact]
    public async Task It_only_reads_and_only_answers_requests_for_this_machine()
    {
        using var post = await Http.PostAsync(new Uri(ui.Server.Address, "/api/runs"), new StringContent(""), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode); // only /api/write/… takes a POST
        var (status, body) = await Get("/api/runs", host: "attacker.example:80");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("attacker.example", body);
        Assert.Equal(HttpStatusCode.OK, (await Get("/api/info", host: $"localhost:{ui.Server.Address.Port}")).Status);
    }

    [Fact]
    public async Task A_write_from_another_site_is_refused_and_one_from_the_page_reaches_the_folder()
    {
        string token = JsonDocument.Parse((await Get("/api/info")).Body).RootElement.GetProperty("write_token").GetString()!;
        var folder = RunFolder.Open(Path.Combine(ui.Runs, "mnist-sgd", ui.MnistRun));
        async Task<(HttpStatusCode, string)> Post(string? origin, string? write, string type = "application/json", string? site = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(ui.Server.Address, $"/api/write/run/{ui.MnistRun}/meta"))
            {
                Content = new StringContent("{\"tags\": {\"forged\": \"yes\"}}", System.Text.Encoding.UTF8, type),
            };
            if (origin is not null) request.Headers.Add("Origin", origin);
            if (site is not null) request.Headers.Add("Sec-Fetch-Site", site);
            if (write is not null) request.Headers.Add("X-ExpRunner-Write", write);
            using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }
        string self = ui.Server.Address.GetLeftPart(UriPartial.Authority);
        // A page of another site (a form or fetch it makes the browser send), even one that guessed the token, is refused.
        Assert.Equal(HttpStatusCode.Forbidden, (await Post("http://attacker.example", token)).Item1);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(null, token, site: "cross-site")).Item1);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(self, null)).Item1);                     // no anti-forgery token
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(self, "0123456789abcdef0123456789abcdef")).Item1);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(self, token, "text/plain")).Item1);      // a simple (form-like) request
        Assert.DoesNotContain("forged", RunMeta.Read(folder).Tags.Keys);
        var (ok, body) = await Post(self, token);
        Assert.True(ok == HttpStatusCode.OK, body);
        Assert.Equal("yes", RunMeta.Read(folder).Tags["forged"]);                                 // the folder first
        RunMeta.Update(folder, m => m with { Tags = new Dictionary<string, string>() });
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
        (status, body) = await Get($"/api/compare/steps?runs={ui.ProbedRun}&metric=layer0.weight.update_ratoi");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("did you mean 'layer0.weight.update_ratio'", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_runs_steps_answer_is_its_record_decimated_and_its_probes_per_layer()
    {
        var (status, body) = await Get($"/api/run/{ui.ProbedRun}/steps");
        Assert.Equal(HttpStatusCode.OK, status);
        var d = JsonDocument.Parse(body).RootElement;
        var record = ExpRunner.Tracking.StepLog.ReadRecord(Path.Combine(ui.Runs, "xor-probed", ui.ProbedRun, "steps.csv.gz"));
        Assert.Equal(record.Steps.Count, d.GetProperty("steps").GetInt32());
        var loss = d.GetProperty("series").GetProperty("batch_loss");
        // 640 steps fit 700 pixel columns: every step is there, exactly.
        Assert.Equal(record.Steps.Select(s => s.Loss), loss.GetProperty("y").EnumerateArray().Select(v => v.GetDouble()));
        var layers = d.GetProperty("layers");
        Assert.Equal(2, layers.GetArrayLength());
        int column = record.ProbeColumns.ToList().IndexOf("layer1.weight.grad_norm");
        Assert.Equal(record.Steps.Select(s => s.Probes![column]), layers[1].GetProperty("probes").GetProperty("weight.grad_norm").GetProperty("y").EnumerateArray().Select(v => v.GetDouble()));
    }

    [Fact]
    public void The_runs_page_opens_with_the_newest_runs_before_every_run_is_read_and_they_are_what_reading_all_of_them_shows()
    {
        using var cache = new TempDir(); // a cold start
        var data = new UiData(ui.Runs, cache.Path, TimeProvider.System);
        var opening = new RunsQuery(null, null, false, []);
        var first = data.Opening(opening, 200) ?? throw new InvalidOperationException("no opening page");
        Assert.Null(data.Opening(new RunsQuery("metrics.test_accuracy > 0.5", null, false, []), 200)); // anything else waits for every run
        data.Fresh();
        Assert.Null(data.Opening(opening, 200)); // every run in memory: answered from them
        var (rows, total) = data.Runs(opening);
        Assert.Equal(total, first.Total);
        Assert.Equal(rows.Take(200).Select(r => r.Id), first.Rows.Take(200).Select(r => r.Id));
        Assert.Equal(data.Columns().Params, first.Params);
        Assert.Equal(data.Columns().Metrics.Order(StringComparer.Ordinal), first.Metrics.Order(StringComparer.Ordinal));
        Assert.Equal(data.Known().Runs, total);
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
        // What a client on another machine is told names no absolute path of this one.
        string info = await after.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.DoesNotContain(ui.Runs, info);
        using var missing = new HttpRequestMessage(HttpMethod.Get, new Uri(local, "/api/run/no-such-run"));
        missing.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var notFound = await Http.SendAsync(missing, TestContext.Current.CancellationToken);
        string error = JsonDocument.Parse(await notFound.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error").GetString()!;
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Contains("no run 'no-such-run' under runs", error);
        Assert.DoesNotContain(Path.GetDirectoryName(ui.Runs)!, error);
    }

    [Theory]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example/")]
    [InlineData("///evil.example/x")]
    public async Task The_token_redirect_stays_on_this_server(string path)
    {
        await using var open = await UiServer.StartAsync(ui.Data, IPAddress.Any, 0, TestContext.Current.CancellationToken);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, open.Address.Port, TestContext.Current.CancellationToken);
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {path}?token={open.Token} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
            TestContext.Current.CancellationToken);
        string answer = await new StreamReader(stream).ReadToEndAsync(TestContext.Current.CancellationToken);
        var location = answer.Split("\r\n").Single(l => l.StartsWith("Location:", StringComparison.OrdinalIgnoreCase))["Location:".Length..].Trim();
        Assert.StartsWith("/", location);
        Assert.False(location.StartsWith("//", StringComparison.Ordinal) || location.StartsWith("/\\", StringComparison.Ordinal), location);
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
