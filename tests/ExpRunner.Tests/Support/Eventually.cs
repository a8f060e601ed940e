using System.Diagnostics;

namespace ExpRunner.Tests.Support;

/// <summary>Waiting for a state another process will reach: it is reached, or the test fails saying which state was not.</summary>
public static class Eventually
{
    public static void Reach(Func<bool> state, string what, int seconds = 120) => Reach(state, what, seconds, 50, null);

    /// <summary>As above, checking every <paramref name="everyMs"/> ms; a failure adds what <paramref name="explain"/> says of the state it was in.</summary>
    public static void Reach(Func<bool> state, string what, int seconds, int everyMs, Func<string>? explain)
    {
        var clock = Stopwatch.StartNew();
        while (!state())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
                Assert.Fail($"not reached within {seconds} s: {what}" + (explain is null ? "" : "\n" + explain()));
            Thread.Sleep(everyMs);
        }
    }
}
