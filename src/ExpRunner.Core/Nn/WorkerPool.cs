namespace ExpRunner.Nn;

/// <summary>Work split into a fixed number of parts, each independent of the others.</summary>
internal abstract class PartitionedWork
{
    public abstract void Run(int part);
}

/// <summary>
/// The threads that split one matrix product. They are created once and kept: the calling thread
/// runs part 0 and each worker one other part, so a product costs two wake-ups rather than a
/// task-scheduler round trip and allocates nothing. Idle workers spin for 100 µs (the next product
/// of a batch usually comes sooner), then block on a semaphore, so a pool left idle never competes
/// with other processes (parallel sweep trials) for the cores.
/// One product uses the pool at a time; a caller that finds it busy runs all parts itself, in the
/// same partition, so results never depend on who ran them.
/// </summary>
internal static class WorkerPool
{
    private static readonly Lock Gate = new();
    private static Worker[] _workers = [];
    private static PartitionedWork? _work;
    private static int _pending;
    private static Exception? _error;

    public static void Run(PartitionedWork work, int parts)
    {
        if (parts <= 1 || !Gate.TryEnter())
        {
            for (int p = 0; p < parts; p++) work.Run(p);
            return;
        }
        try
        {
            if (_workers.Length < parts - 1) Grow(parts - 1);
            _work = work;
            _error = null;
            Volatile.Write(ref _pending, parts - 1);
            for (int w = 1; w < parts; w++) _workers[w - 1].Start(w);
            Exception? own = null;
            try { work.Run(0); }
            catch (Exception e) { own = e; }
            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) > 0) spin.SpinOnce(sleep1Threshold: -1);
            _work = null;
            if ((own ?? _error) is { } error) throw new AggregateException(error);
        }
        finally
        {
            Gate.Exit();
        }
    }

    private static void Grow(int count)
    {
        var workers = new Worker[count];
        Array.Copy(_workers, workers, _workers.Length);
        for (int w = _workers.Length; w < count; w++) workers[w] = new Worker(w + 1);
        _workers = workers;
    }

    private sealed class Worker
    {
        // Products come in quick succession within a batch, so a worker spins this long for the
        // next part before it blocks; a blocked worker costs a futex wake-up (tens of µs) to start.
        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 10_000; // 100 µs

        private readonly SemaphoreSlim _go = new(0);
        private int _part, _generation, _sleeping;

        public Worker(int index)
        {
            new Thread(Loop) { IsBackground = true, Name = $"exprunner-gemm-{index}" }.Start();
        }

        public void Start(int part)
        {
            _part = part;
            Interlocked.Increment(ref _generation);
            if (Interlocked.CompareExchange(ref _sleeping, 0, 1) == 1) _go.Release();
        }

        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
                while (Volatile.Read(ref _generation) == seen)
                {
                    if (System.Diagnostics.Stopwatch.GetTimestamp() < deadline) { Thread.SpinWait(20); continue; }
                    // Announce the sleep, then look once more: a Start in between either is seen
                    // here or releases the semaphore (a spare release only costs one extra lap).
                    Interlocked.Exchange(ref _sleeping, 1);
                    if (Volatile.Read(ref _generation) == seen) _go.Wait();
                    Interlocked.Exchange(ref _sleeping, 0);
                    deadline = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
                }
                seen = Volatile.Read(ref _generation);
                try { _work!.Run(_part); }
                catch (Exception e) { _error = e; }
                finally { Interlocked.Decrement(ref _pending); }
            }
        }
    }
}
