using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using ExpRunner.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Ui;

public sealed class UiSettings : RunsSettings
{
    [CommandOption("--port <N>"), Description("Port to serve on (default 8642; 0 picks a free one).")]
    public int Port { get; init; } = UiServer.DefaultPort;

    [CommandOption("--host <ADDRESS>"), Description("Address to serve on (default 127.0.0.1, this machine only). Another address serves everyone who can reach it, with a token.")]
    public string Host { get; init; } = "127.0.0.1";

    [CommandOption("--open"), Description("Open the UI in the browser ($BROWSER, else xdg-open).")]
    public bool Open { get; init; }
}

/// <summary>`exprunner ui`: every run and sweep of a runs directory in the browser, until Ctrl-C.</summary>
public sealed class UiCommand(CliContext cli) : Command<UiSettings>
{
    public override int Execute(CommandContext context, UiSettings settings, CancellationToken cancellation)
    {
        Common.Check(settings.Port, "--port", 0, 65535);
        IPAddress host = settings.Host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(settings.Host, out var ip) ? ip
            : throw new InputException($"--host {settings.Host}: an IP address of this machine (127.0.0.1, 0.0.0.0 for every interface, ...)");
        string root = cli.RunsRoot(settings.Runs);
        if (!Directory.Exists(root)) throw new InputException($"no runs directory '{root}' (--runs DIR, or run an experiment first: exprunner run experiments/xor.yaml)");
        var data = new UiData(root, Compare.RunIndex.CacheDir(cli.Env), cli.Clock, cli.Warn);
        UiServer server;
        try { server = UiServer.StartAsync(data, host, settings.Port, cancellation).GetAwaiter().GetResult(); }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse } || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            throw new InputException($"port {settings.Port} on {settings.Host} is in use (another exprunner ui?): --port N picks another, --port 0 any free one");
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException s)
        {
            throw new InputException($"cannot serve on {settings.Host}:{settings.Port}: {s.Message}");
        }
        try
        {
            string url = server.Address + (server.Token is null ? "" : $"?token={server.Token}");
            if (server.Token is not null)
                cli.Warn($"serving on {settings.Host}: anyone who can reach this machine on port {server.Address.Port} and has the address below (its token) can read these runs. " +
                    "To reach a remote UI privately, keep the default address and use an SSH tunnel (see the README).");
            cli.Out.MarkupLine($"ExpRunner UI: [bold link]{Markup.Escape(url)}[/]  [grey](Ctrl-C stops it)[/]");
            var clock = Stopwatch.StartNew();
            var (runs, broken) = data.Open();
            cli.Out.MarkupLine($"[grey]{runs.ToString("N0", Common.Inv)} run{(runs == 1 ? "" : "s")} under {Markup.Escape(data.RunsRoot)} (newest shown after {clock.Elapsed.TotalSeconds:0.0} s; the rest are read in the background)[/]");
            foreach (var problem in broken.Take(5)) cli.Warn($"skipped a broken run folder: {problem}");
            if (settings.Open) OpenBrowser(url);
            try { Task.Delay(Timeout.Infinite, cancellation).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { }
            cli.Out.MarkupLine("[grey]stopped[/]");
            return ExitCodes.Ok;
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private void OpenBrowser(string url)
    {
        foreach (var opener in new[] { cli.Env("BROWSER"), "xdg-open" }.OfType<string>())
        {
            try
            {
                var psi = new ProcessStartInfo(opener) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                psi.ArgumentList.Add(url);
                using var p = Process.Start(psi);
                if (p is not null) return;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        cli.Warn("--open: no browser to open (set $BROWSER, or install xdg-utils); open the address above yourself");
    }
}
