namespace ExpRunner.Cli;

/// <summary>
/// What Ctrl-C and SIGTERM do: the command's token is cancelled at once. Work that ends cleanly when
/// cancelled (a run recording KILLED, a sweep stopping its trials) holds the process open while it
/// does, for at most <see cref="CleanEnd"/>; anything else — a read blocked on a pipe with no writer,
/// say — is ended <see cref="Grace"/> after the signal with exit code 130. A second signal ends the
/// process at once.
/// </summary>
public sealed class Interruption(CancellationTokenSource cancel, Action<string> say, Action<int> exit)
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1), CleanEnd = TimeSpan.FromMinutes(1);
    private int _holds, _signals;

    /// <summary>While held, an interruption waits for the work to end as it should (up to <see cref="CleanEnd"/>).</summary>
    public IDisposable Hold()
    {
        Interlocked.Increment(ref _holds);
        return new Release(this);
    }

    private sealed class Release(Interruption owner) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) Interlocked.Decrement(ref owner._holds); }
    }

    public void Signal()
    {
        if (Interlocked.Increment(ref _signals) > 1) { say("interrupted again: stopping now"); exit(ExitCodes.Killed); return; }
        cancel.Cancel();
        new Thread(Watch) { IsBackground = true, Name = "interruption" }.Start();
    }

    private void Watch()
    {
        var since = System.Diagnostics.Stopwatch.StartNew();
        Thread.Sleep(Grace);
        while (Volatile.Read(ref _holds) > 0 && since.Elapsed < CleanEnd) Thread.Sleep(50);
        say("interrupted");
        exit(ExitCodes.Killed);
    }
}
