using ExpRunner.Cli;
using Spectre.Console.Testing;

namespace ExpRunner.Tests.Support;

/// <summary>Runs `exprunner` inside the test process through the same entry as the tool (App.Run), with test consoles for its two streams.</summary>
public static class InProcess
{
    public static CliResult Run(params string[] args) => Run(null, args);

    public static CliResult Run(IReadOnlyDictionary<string, string>? env, params string[] args) => Run(new Terminal(), env, args);

    /// <summary>What the test console looks like: widths, whether stdout and stderr are terminals (live displays, fitted tables).</summary>
    public sealed record Terminal(int Width = 160, bool OutTerminal = false, bool Interactive = false, CancellationToken Cancel = default);

    public static CliResult Run(Terminal terminal, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var @out = new TestConsole().Width(terminal.Width);
        var err = new TestConsole().Width(terminal.Width);
        if (terminal.Interactive) err.Profile.Capabilities.Interactive = true;
        var cli = new CliContext
        {
            Out = @out, Error = err, Environment = env ?? new Dictionary<string, string>(), Self = ["dotnet", ExpRunnerProcess.Dll],
            OutTerminal = terminal.OutTerminal, Interactive = terminal.Interactive,
        };
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken, terminal.Cancel);
        int code = App.Run(cli, args, linked.Token);
        return new CliResult(code, @out.Output, err.Output);
    }
}
