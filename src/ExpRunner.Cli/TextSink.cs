using System.Globalization;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace ExpRunner.Cli;

/// <summary>Log events as lines on a writer (the error stream of the <see cref="CliContext"/>); exception details stay in the run's log.</summary>
internal sealed class TextSink(TextWriter writer, string template) : ILogEventSink
{
    private readonly MessageTemplateTextFormatter _format = new(template, CultureInfo.InvariantCulture);
    private readonly Lock _lock = new();

    public void Emit(LogEvent e)
    {
        lock (_lock)
        {
            _format.Format(e, writer);
            writer.Flush();
        }
    }
}
