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
/// The web server of `exprunner ui`: the embedded pages and the read-only JSON API, on 127.0.0.1 unless
/// told otherwise. Another address needs a token (printed with the address): a request without it
/// is refused. On the loopback address, a request naming another host is refused too (a web page
/// elsewhere cannot reach the UI through a name that points here).
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
        string? token = loopback ? null : Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
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
            if (!HttpMethods.IsGet(ctx.Request.Method) && !HttpMethods.IsHead(ctx.Request.Method))
            {
                await Plain(ctx, 405, "this UI only reads: GET and HEAD");
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
            await next(ctx);
        });

        // A client on another machine (token mode) is told no absolute paths of this one.
        string? hide = token is null ? null : data.RunsRoot;
        IResult Answer(Func<object> make) => Reply(make, hide);
        Get(app, "/api/info", () => Json(new
        {
            runs_root = hide is null ? data.RunsRoot : Path.GetFileName(data.RunsRoot), runs = data.Count,
            broken = hide is null ? data.Broken : data.Broken.Select(b => Redact(b, hide)).ToList(), version = Tracking.Provenance.Version,
        }));
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
