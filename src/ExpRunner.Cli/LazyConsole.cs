using Spectre.Console;
using Spectre.Console.Rendering;

namespace ExpRunner.Cli;

/// <summary>
/// A console made on first use: Spectre.Console's first console costs ~8 ms of start-up, which a
/// command that only writes plain lines (a run with --quiet or --json, a sweep's trial) never needs.
/// </summary>
public sealed class LazyConsole(Func<IAnsiConsole> make) : IAnsiConsole
{
    private readonly Lazy<IAnsiConsole> _console = new(make);

    /// <summary>Whether anything has used it yet.</summary>
    public bool Made => _console.IsValueCreated;

    public Profile Profile => _console.Value.Profile;
    public IAnsiConsoleCursor Cursor => _console.Value.Cursor;
    public IAnsiConsoleInput Input => _console.Value.Input;
    public IExclusivityMode ExclusivityMode => _console.Value.ExclusivityMode;
    public RenderPipeline Pipeline => _console.Value.Pipeline;
    public void Clear(bool home) => _console.Value.Clear(home);
    public void Write(IRenderable renderable) => _console.Value.Write(renderable);
    public void WriteAnsi(Action<AnsiWriter> action) => _console.Value.WriteAnsi(action);
}
