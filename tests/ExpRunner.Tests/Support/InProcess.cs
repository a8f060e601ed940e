using ExpRunner.Cli;
using Spectre.Console.Testing;

namespace ExpRunner.Tests.Support;

/// <summary>Runs `exprunner` inside the test process through the same entry as the tool (App.Run), with test consoles for its two streams.</summary>
public static class InProcess
{
    public static CliResult Run(params string[] args) => Run(null, args);

    public static CliResult Run(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var @out = new TestConsole().Width(160);
        var err = new TestConsole().Width(160);
        var cli = new CliContext
        {
            Out = @out, Error = err, Environment = env ?? new Dictionary<string, string>(), Self = ["dotnet", ExpRunnerProcess.Dll],
        };
        int code = App.Run(cli, args, TestContext.Current.CancellationToken);
        return new CliResult(code, @out.Output, err.Output);
    }
}
