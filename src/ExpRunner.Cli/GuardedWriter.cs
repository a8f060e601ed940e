using System.Text;

namespace ExpRunner.Cli;

/// <summary>
/// A console stream whose write failures (stdout on a full disk, a closed pipe) say which stream
/// and why in one line, instead of the runtime's bare message.
/// </summary>
internal sealed class GuardedWriter(TextWriter inner, string name) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;
    public override void Write(char value) => Guard(() => inner.Write(value));
    public override void Write(string? value) => Guard(() => inner.Write(value));
    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));
    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));
    public override void Flush() => Guard(inner.Flush);

    private void Guard(Action write)
    {
        try { write(); }
        catch (IOException e) { throw new IOException($"cannot write to {name}: {ExpRunner.IO.Atomic.Why(e)}", e); }
    }
}
