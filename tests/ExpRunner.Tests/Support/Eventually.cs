using System.Diagnostics;

namespace ExpRunner.Tests.Support;

/// <summary>Waiting for a state another process will reach: it is reached, or the test fails saying which state was not.</summary>
public static class Eventually
{
    public static void Reach(Func<bool> state, string what, int seconds = 120)
    {
        var clock = Stopwatch.StartNew();
        while (!state())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) Assert.Fail($"not reached within {seconds} s: {what}");
            Thread.Sleep(50);
        }
    }
}
