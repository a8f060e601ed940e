using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ExpRunner.Cli.Ui;

/// <summary>
/// The web server of `exprunner ui`: the embedded pages and the JSON API, on 127.0.0.1 unless told
/// otherwise. Another address needs a token (printed with the address): a request without it is
/// refused. On the loopback address, a request naming another host is refused too (a web page
/// elsewhere cannot reach the UI through a name that points here). It reads, except for what a person
/// says of a run (label, tags, note) and moving runs to and from the trash: those writes are POSTs that
/// must come from the UI's own page — the same origin (Origin, else Sec-Fetch-Site), JSON, and the
/// anti-forgery token the page reads from /api/info (a page of another site cannot read it) — and
/// change the run folder first, then the page.
/// </summary>
public sealed partial class UiServer : IAsyncDisposable
{
    public const int DefaultPort = 8642;
    private const string TokenCookie = "exprunner_token";
    private readonly WebApplication _app;
    public Uri Address { get; }
    public string? Token { get; }

    private UiServer(WebApplication app, Uri address, string? token) { _app = app; Address = address; Token = token; }

    public static async Task<UiServer> StartAsync(UiData data, IPAddress host, int port, CancellationToken cancel)
    {
        bool loopback = IPAddress.IsLoopback(host);
        // Requests wait on reading the runs, which spreads its own work over the pool's threads: with the pool at its
        // default of a thread a core, that work would queue behind the waiting requests for seconds.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), io);
        string? token = loopback ? null : Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        string forgery = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)); // the anti-forgery token of this server's pages
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "exprunner", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(host, port));
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o => o.AddServerHeader = false);
        var app = builder.Build();
        var api = new UiApi(data);
        int boundPort = port;

        app.Use(async (ctx, next) =>
        {
            var h = ctx.Response.Headers;
            h["X-Content-Type-Options"] = "nosniff";
            h["Referrer-Policy"] = "no-referrer";
            h["X-Frame-Options"] = "DENY";
            h["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
            h["Cache-Control"] = "no-store";
            bool write = HttpMethods.IsPost(ctx.Request.Method) && ctx.Request.Path.StartsWithSegments("/api/write", StringComparison.Ordinal);
            if (!HttpMethods.IsGet(ctx.Request.Method) && !HttpMethods.IsHead(ctx.Request.Method) && !write)
            {
                await Plain(ctx, 405, "this UI reads with GET and HEAD, and writes only with POST to /api/write/…");
                return;
            }
            if (loopback && !LocalHost(ctx.Request.Host.Host))
            {
                await Plain(ctx, 403, $"host '{ctx.Request.Host.Host}' is not this machine's loopback address");
                return;
            }
            if (token is not null)
            {
                if (ctx.Request.Query.TryGetValue("token", out var given) && Same(given.ToString(), token))
                {
                    ctx.Response.Cookies.Append(TokenCookie, token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });
                    // To this server's own path only: "//host/..." would send the browser to another site.
                    ctx.Response.Redirect("/" + (ctx.Request.Path.Value ?? "").TrimStart('/', '\\'));
                    return;
                }
                if (!ctx.Request.Cookies.TryGetValue(TokenCookie, out var cookie) || !Same(cookie, token))
                {
                    await Plain(ctx, 401, "open the address exprunner ui printed (with its ?token=...)");
                    return;
                }
            }
            if (write && Forged(ctx, forgery) is { } why)
            {
                await Plain(ctx, 403, why);
                return;
            }
            await next(ctx);
        });

        // A client on another machine (token mode) is told no absolute paths of this one.
        string? hide = token is null ? null : data.RunsRoot;
        IResult Answer(Func<object> make) => Reply(make, hide);
        Get(app, "/api/info", () =>
        {
            var (runs, broken) = data.Known();
            return Json(new
            {
                runs_root = hide is null ? data.RunsRoot : Path.GetFileName(data.RunsRoot), runs,
                broken = hide is null ? broken : broken.Select(b => Redact(b, hide)).ToList(), version = Tracking.Provenance.Version,
                write_token = forgery,
            });
        });
        app.MapPost("/api/write/run/{id}/meta", async (string id, HttpContext ctx) =>
        {
            System.Text.Json.Nodes.JsonObject body;
            try { body = await ReadJsonAsync(ctx); }
            catch (UiRequestException e) { return Json(new { error = e.Message }, e.Status); }
            return Answer(() => api.WriteMeta(id, body));
        });
        app.MapPost("/api/write/run/{id}/trash", (string id) => Answer(() => api.TrashRun(id)));
        app.MapPost("/api/write/restore/{id}", (string id) => Answer(() => api.RestoreRun(id)));
        Get(app, "/api/trash", () => Answer(api.Trash));
        Get(app, "/api/runs", (HttpContext ctx) => Answer(() => api.Runs(ctx.Request.Query)));
        Get(app, "/api/run/{id}", (string id) => Answer(() => api.Run(id)));
        Get(app, "/api/run/{id}/evaluation", (string id) => Answer(() => api.Evaluation(id)));
        Get(app, "/api/run/{id}/example/{n:int}.png", (string id, int n) => Answer(() => Results.Bytes(api.Example(id, n), "image/png")));
        Get(app, "/api/run/{id}/file/{name}", (string id, string name) => Answer(() =>
        {
            var (path, type) = api.File(id, name);
            return Results.File(path, type, type.StartsWith("application/octet-stream", StringComparison.Ordinal) ? name : null);
        }));
        Get(app, "/api/run/{id}/steps", (string id) => Answer(() => api.Steps(id)));
        Get(app, "/api/compare", (HttpContext ctx) => Answer(() => api.Compare(ctx.Request.Query)));
        Get(app, "/api/compare/steps", (HttpContext ctx) => Answer(() => api.CompareSteps(ctx.Request.Query)));
        Get(app, "/api/sweeps", () => Answer(api.Sweeps));
        Get(app, "/api/sweep/{id}", (string id) => Answer(() => api.Sweep(id)));
        Get(app, "/api/{**rest}", (string rest) => Json(new { error = $"no API '/api/{rest}'" }, 404));
        Get(app, "/{**path}", (string? path) => Static(path));

        await app.StartAsync(cancel);
        var address = new Uri($"http://{(host.Equals(IPAddress.Any) || host.Equals(IPAddress.IPv6Any) ? Dns.GetHostName() : host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host.ToString())}:{BoundPort(app, boundPort)}/");
        return new UiServer(app, address, token);
    }

    private static readonly string[] Reading = ["GET", "HEAD"];

    /// <summary>Why a write request is refused (null: it comes from the UI's own page): same origin, JSON, the anti-forgery token.</summary>
    private static string? Forged(HttpContext ctx, string forgery)
    {
        var headers = ctx.Request.Headers;
        string self = $"{ctx.Request.Scheme}://{ctx.Request.Host}";
        if (headers.Origin is { Count: > 0 } origin ? !string.Equals(origin.ToString(), self, StringComparison.OrdinalIgnoreCase)
            : headers["Sec-Fetch-Site"].ToString() is var site && site.Length > 0 && site != "same-origin")
            return "a write must come from this UI's own page (another origin is refused)";
        if (!(ctx.Request.ContentType ?? "").StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return "a write is a JSON request";
        if (headers["X-ExpRunner-Write"].ToString() is not { Length: > 0 } given || !Same(given, forgery))
            return "a write needs the page's anti-forgery token";
        return null;
    }

    /// <summary>A write's JSON body (at most 256 KiB).</summary>
    private static async Task<System.Text.Json.Nodes.JsonObject> ReadJsonAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body);
        var buffer = new char[256 << 10];
        int n = await reader.ReadBlockAsync(buffer, ctx.RequestAborted);
        if (n == buffer.Length) throw new UiRequestException(413, "the request is larger than 256 KiB");
        try { return System.Text.Json.Nodes.JsonNode.Parse(new string(buffer, 0, n)) as System.Text.Json.Nodes.JsonObject ?? throw new UiRequestException(400, "a JSON object is expected"); }
        catch (System.Text.Json.JsonException e) { throw new UiRequestException(400, $"not JSON: {e.Message}"); }
    }

    private static void Get(WebApplication app, string pattern, Delegate handler) => app.MapMethods(pattern, Reading, handler);

    private static int BoundPort(WebApplication app, int asked)
    {
        if (asked != 0) return asked;
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses;
        return addresses?.Select(a => new Uri(a.Replace("[::]", "localhost", StringComparison.Ordinal)).Port).FirstOrDefault() ?? asked;
    }

    private static bool LocalHost(string host) => host is "localhost" or "127.0.0.1" or "[::1]" or "::1";

    private static bool Same(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(a), System.Text.Encoding.UTF8.GetBytes(b));

    private static Task Plain(HttpContext ctx, int status, string text)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        return ctx.Response.WriteAsync(text + "\n");
    }

    private static IResult Json(object value, int status = 200) => Results.Text(UiApi.Text(value), "application/json; charset=utf-8", null, status);

    private static IResult Reply(Func<object> make, string? hide)
    {
        string Say(string message) => hide is null ? message : Redact(message, hide);
        try
        {
            var value = make();
            return value as IResult ?? Json(value);
        }
        catch (UiRequestException e) { return Json(new { error = Say(e.Message), position = e.Position }, e.Status); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return Json(new { error = Say(e.Message) }, 500);
        }
    }

    /// <summary>A message for a client on another machine: the runs directory as "runs", any other absolute path as its last name.</summary>
    public static string Redact(string message, string runsRoot) =>
        AbsolutePath().Replace(message.Replace(runsRoot, "runs", StringComparison.Ordinal), m => Path.GetFileName(m.Value.TrimEnd('/')) is { Length: > 0 } name ? name : "…");

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![\w.:/~-])/[^\s'"",;()]+")]
    private static partial System.Text.RegularExpressions.Regex AbsolutePath();

    private static readonly Assembly Self = typeof(UiServer).Assembly;

    /// <summary>The embedded pages: index.html for any path that is not a file (the page routes itself).</summary>
    private static IResult Static(string? path)
    {
        string name = string.IsNullOrEmpty(path) ? "index.html" : path;
        var stream = name.Contains("..", StringComparison.Ordinal) ? null : Self.GetManifestResourceStream("ui/" + name);
        if (stream is null)
        {
            if (Path.HasExtension(name)) return Results.Text($"no file '/{name}'\n", "text/plain; charset=utf-8", null, 404);
            stream = Self.GetManifestResourceStream("ui/index.html")!;
            name = "index.html";
        }
        string type = Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8", ".js" => "text/javascript; charset=utf-8", ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml", ".txt" or "" => "text/plain; charset=utf-8", _ => "application/octet-stream",
        };
        return Results.Stream(stream, type);
    }

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2))) await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
