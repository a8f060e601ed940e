using ExpRunner.Cli;
using Spectre.Console;
using Spectre.Console.Testing;

namespace ExpRunner.Tests.Cli;

/// <summary>The process's consoles are made on first use, once, and then behave as the console they wrap.</summary>
public class LazyConsoleTests
{
    [Fact]
    public void The_console_is_made_on_first_use_only_once_and_writes_through()
    {
        int made = 0;
        var inner = new TestConsole().Width(40);
        var lazy = new LazyConsole(() => { made++; return inner; });
        Assert.Equal(0, made);
        Assert.False(lazy.Made);

        lazy.MarkupLine("[bold]done[/] 3 runs");
        lazy.Write(new Table().AddColumn("run").AddRow("a"));
        Assert.Equal(40, lazy.Profile.Width);
        Assert.Equal(1, made);
        Assert.True(lazy.Made);
        Assert.Contains("done 3 runs", inner.Output);
        Assert.Contains("│ run │", inner.Output);
    }

    [Fact]
    public void Plain_lines_go_to_the_stream_without_making_the_console()
    {
        int made = 0;
        var outText = new StringWriter();
        var errorText = new StringWriter();
        var cli = new CliContext
        {
            Out = new LazyConsole(() => { made++; return new TestConsole(); }),
            Error = new LazyConsole(() => { made++; return new TestConsole(); }),
            OutText = outText, ErrorText = errorText, Self = ["exprunner"],
        };
        cli.Line("FINISHED runs/xor/1");
        cli.Warn("low disk");
        cli.Fail("bad");
        Assert.Equal(0, made);
        Assert.Equal("FINISHED runs/xor/1\n", outText.ToString());
        Assert.Equal($"warning: low disk{Environment.NewLine}error: bad{Environment.NewLine}", errorText.ToString());
    }
}
