using ExpRunner.Nn;

namespace ExpRunner.Tests.Nn;

/// <summary>The buffers the kernels read most (batches, activations, deltas) start on a cache line, and stay there.</summary>
public class AlignedTests
{
    [Fact]
    public void A_buffer_starts_on_a_cache_line_is_zeroed_and_stays_put()
    {
        var keep = new List<object>();
        foreach (int n in new[] { 1, 3, 7, 100, 784, 12_800, 100_352, 401_408 })
        {
            for (int i = 0; i < 4; i++) keep.Add(new byte[8 * i + 8]); // whatever lies before it
            var d = new Aligned<double>(n);
            var f = new Aligned<float>(n);
            var v = new Aligned<System.Runtime.Intrinsics.Vector256<double>>(n / 4 + 1); // saved accumulators
            keep.Add(d); keep.Add(f);
            Assert.Equal(0L, v.LineOffset);
            Assert.Equal((n, n), (d.Length, f.Length));
            Assert.Equal((0L, 0L), (d.LineOffset, f.LineOffset));
            Assert.True(d.Span.IndexOfAnyExcept(0.0) < 0 && f.Span.IndexOfAnyExcept(0f) < 0, $"{n}: not zeroed");
            d.Span[^1] = 1; f.Span[^1] = 1; // the whole length is writable
        }
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        foreach (var o in keep)
            if (o is Aligned<double> d) Assert.Equal(0L, d.LineOffset);
            else if (o is Aligned<float> f) Assert.Equal(0L, f.LineOffset);
        Assert.Equal(0, new Aligned<double>(0).Span.Length);
    }
}
