using System.Numerics;
using System.Runtime.CompilerServices;
using ExpRunner.Data;
using ExpRunner.Nn;

namespace ExpRunner.Training;

/// <summary>Groups of trials trained together, in a config's precision.</summary>
public static class TrialGroups
{
    /// <summary>A group of <paramref name="count"/> trials on <paramref name="data"/>'s training split: their seats, in order.</summary>
    public static IReadOnlyList<ITrialSeat> New(Config.Precision precision, int count, DataSplits data, int batch, int outputs, int threads, int vectorBits) =>
        precision == Config.Precision.Float64
            ? new TrialGroup<double>(count, data.Train.Data, data.Train.Count, batch, outputs, threads, vectorBits).Seats
            : new TrialGroup<float>(count, data.Train.Data, data.Train.Count, batch, outputs, threads, vectorBits).Seats;
}

/// <summary>A trial's place in a group trained together, whatever its precision: what the run gives back when it ends.</summary>
public interface ITrialSeat
{
    /// <summary>The trial will not train in the group (it failed before training, or trains on its own); the others do not wait for it. Idempotent, and nothing once it has trained.</summary>
    void Leave();
}

/// <summary>
/// Trials of a sweep that train together in one process: the same training data in the same order and
/// batch size, each with its own network, optimizer and run folder. Each trial's run starts (and later
/// ends) on its own thread; its training is taken step by step by the group's driver, batch for batch
/// in step with the others: the batch is filled once for all, the first layer's two products — X·Wᵀ
/// forward and δᵀ·X for the weight gradient, the bulk of a small network's work — run once over the
/// group as one wider product (the members' weights stacked), and the rest of each member's step runs
/// on the group's threads, a member per thread at a time. No thread waits on another between batches.
/// <para>
/// Bit for bit each trial's own: per element the wide product does what a trial's own product does —
/// a dot product over the same k, in the same kernel, in a tile of the same shape (every member's rows
/// start at a multiple of 4 and number a multiple of 4, the widest tile the kernels put side by side);
/// members whose first layer is not a multiple of 4 wide get their own X·Wᵀ, made in the same pass.
/// </para>
/// A member leaves when its training ends (finished, diverged, pruned, early-stopped, stopped, failed)
/// and the others go on.
/// </summary>
public sealed class TrialGroup<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Members' first layers must be a multiple of this wide, and start at a multiple of it, to share one product.</summary>
    public const int Tile = 4;

    private readonly Lock _gate = new();
    private readonly List<Seat> _joined = [];
    private readonly Dataset _data;
    private readonly int _outputs, _threads, _vectorBits;
    private readonly Aligned<T> _x;
    private readonly T[] _y;
    private Aligned<T> _w, _z, _d, _g, _ex;
    private T[] _ey = [];
    private int _resolved;

    /// <param name="seats">How many trials will join (each must train through its seat or <see cref="Seat.Leave"/> it).</param>
    /// <param name="data">The training set every member trains on; <paramref name="trainCount"/>: its training split's size.</param>
    /// <param name="batch">The members' batch size.</param>
    /// <param name="outputs">Width of the labels' one-hot rows (the output layer's).</param>
    /// <param name="threads">Threads for the group's products and its members' steps.</param>
    public TrialGroup(int seats, Dataset data, int trainCount, int batch, int outputs, int threads, int vectorBits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seats, 1);
        _data = data; _outputs = outputs; _threads = Math.Max(1, threads); _vectorBits = vectorBits;
        int rows = Math.Min(batch, trainCount);
        _x = new Aligned<T>(rows * data.Features);
        _y = new T[rows * outputs];
        Seats = Enumerable.Range(0, seats).Select(i => new Seat(this, i)).ToArray();
    }

    public IReadOnlyList<Seat> Seats { get; }

    /// <summary>How many products the group made as one wide product, and how many member products they stood for (a measure for tests and logs).</summary>
    public long WideProducts { get; private set; }
    public long MemberProducts { get; private set; }

    /// <summary>One trial's place: its run hands its training over (<see cref="Train"/>) or leaves.</summary>
    public sealed class Seat(TrialGroup<T> group, int index) : ITrialSeat, IFirstLayerShare
    {
        private readonly ManualResetEventSlim _done = new();
        internal Trainer<T>.Steps? Steps;
        internal System.Runtime.ExceptionServices.ExceptionDispatchInfo? Error;
        internal int Start, Rows;
        /// <summary>The epoch's evaluation in progress, and its results.</summary>
        internal Evaluator<T>.Pass? Pass;
        internal Evaluation? Validation, Test;
        public int Index => index;
        public TrialGroup<T> Group => group;

        /// <summary>Trains (<paramref name="steps"/>, made on the run's thread) with the group; returns when its training has ended.</summary>
        internal TrainingOutcome Train(Func<Trainer<T>.Steps> steps)
        {
            try { Steps = steps(); }
            catch { Leave(); throw; }
            var net = Steps.Net;
            if (net.Inputs != group._data.Features || net.Outputs != group._outputs)
            {
                Leave();
                throw new InvalidOperationException($"a network {net.Inputs}→{net.Outputs} cannot train in a group on data {group._data.Features}→{group._outputs}");
            }
            group.Resolve(this, joined: true);
            _done.Wait();
            Error?.Throw();
            return Steps.Outcome!;
        }

        internal void End(Exception? error = null)
        {
            if (error is not null) Error = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error);
            _done.Set();
        }

        void IFirstLayerShare.Product(int rows)
        {
            // The group made it before this member's forward pass.
            if (rows != Rows) throw new InvalidOperationException("the group's batch is not the one being trained on");
        }

        void IFirstLayerShare.Gradient(int rows) { } // the group makes it once every member's backward pass has reached the first layer

        public void Leave() => group.Resolve(this, joined: false);

        internal bool Resolved { get; set; }
    }

    /// <summary>A seat joined or left; once every seat has, the driver starts with those that joined.</summary>
    private void Resolve(Seat seat, bool joined)
    {
        List<Seat> members;
        lock (_gate)
        {
            if (seat.Resolved) return;
            seat.Resolved = true;
            if (joined) _joined.Add(seat);
            if (++_resolved < Seats.Count || _joined.Count == 0) return;
            members = [.. _joined.OrderBy(m => m.Index)];
        }
        new Thread(() => Drive(members)) { IsBackground = true, Name = "exprunner-group" }.Start();
    }

    /// <summary>The members' training, batch by batch, until every one has ended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Drive(List<Seat> members)
    {
        var work = new MemberWork(this, members);
        try
        {
            while (members.Count > 0)
            {
                // An epoch begins, or a member is stopped: each says where its next batch is.
                Each(work, Phase.Next);
                if (members.Count == 0) break;
                var first = members[0];
                foreach (var m in members)
                    if (m.Start != first.Start || m.Rows != first.Rows)
                        throw new InvalidOperationException($"trials of a group out of step: trial {m.Index} at row {m.Start}, trial {first.Index} at row {first.Start}");
                int rows = first.Rows, k = _data.Features;
                var order = first.Steps!.Order;
                if (first.Start == 0)
                    foreach (var m in members) // each trial keeps its own order (its shuffle is its own): they must agree, or the group is not one
                        if (!m.Steps!.Order.AsSpan().SequenceEqual(order))
                            throw new InvalidOperationException($"trial {m.Index} trains on its data in another order than trial {first.Index}: they cannot train together");
                _data.FillBatch<T>(order, first.Start, rows, _x, _y, _outputs, Gemm.Parts(rows, Width(members), k, _threads));
                Forward(members, _x, rows, k);
                work.Rows = rows;
                Each(work, Phase.Forward);
                if (members.Count == 0) break;
                Gradient(members, rows, k);
                bool ends = members[0].Steps!.EndsEpoch;
                Each(work, Phase.Update);
                if (ends && members.Count > 0)
                {
                    // The epoch's evaluation: each batch of a split filled once, its first layer's product made once.
                    var data = members[0].Steps!.Data;
                    foreach (var m in members) m.Validation = null;
                    if (data.Validation is { } validation) Evaluate(work, members, validation, isTest: false);
                    Evaluate(work, members, data.Test, isTest: true);
                    // An epoch's end reports to the sweep's pruning: members do so one after another in trial order, so
                    // that its decisions do not depend on which thread came first.
                    Each(work, Phase.Finish, sequential: true);
                }
            }
        }
        catch (Exception e)
        {
            // The group itself failed: every member still training fails with it, as a run alone would.
            foreach (var m in members) m.End(e);
        }
    }

    /// <summary>
    /// Every member's pass over <paramref name="split"/>, as its evaluator's own pass would make it: the
    /// same batches (its network's capacity, equal in a group), each filled once and its first layer's
    /// product made as the training batches' are.
    /// </summary>
    private void Evaluate(MemberWork work, List<Seat> members, DataSplit split, bool isTest)
    {
        int capacity = members[0].Steps!.Net.Capacity, k = _data.Features;
        if (members.Any(m => m.Steps!.Net.Capacity != capacity || !ReferenceEquals(m.Steps.Data, members[0].Steps!.Data)))
            throw new InvalidOperationException("trials of a group evaluate on other data or in other batches");
        Grow(ref _ex, capacity * k);
        Grow(ref _ey, capacity * _outputs);
        foreach (var m in members) m.Pass = m.Steps!.Evaluator.Begin(split);
        for (int start = 0; start < split.Count; start += capacity)
        {
            int rows = Math.Min(capacity, split.Count - start);
            split.Data.FillBatch<T>(split.Indices, start, rows, _ex, _ey, _outputs, Gemm.Parts(rows, Width(members), k, _threads));
            foreach (var m in members) m.Rows = rows;
            Forward(members, _ex, rows, k);
            (work.Start, work.Rows) = (start, rows);
            Each(work, Phase.Evaluate);
        }
        foreach (var m in members)
        {
            var e = m.Steps!.Evaluator.End(m.Pass!);
            if (isTest) m.Test = e; else m.Validation = e;
            m.Pass = null;
        }
    }

    private enum Phase { Next, Forward, Update, Evaluate, Finish }

    /// <summary>A phase of every member's step, on the group's threads; a member whose training ends (or fails) leaves.</summary>
    private void Each(MemberWork work, Phase phase, bool sequential = false)
    {
        work.Phase = phase;
        work.Parts = sequential ? 1 : Math.Min(_threads, work.Members.Count);
        WorkerPool.Run(work, work.Parts);
        work.RemoveEnded();
    }

    /// <summary>Members split across threads (member i on part i mod parts); each one's step is its own. Allocates nothing per batch.</summary>
    private sealed class MemberWork(TrialGroup<T> group, List<Seat> members) : PartitionedWork
    {
        private readonly HashSet<Seat> _ended = [];
        public Phase Phase;
        public int Parts = 1, Start, Rows;
        public List<Seat> Members => members;

        public override void Run(int part)
        {
            for (int i = part; i < members.Count; i += Parts)
            {
                var m = members[i];
                bool goes;
                Exception? error = null;
                try { goes = Step(m); }
                catch (Exception e) { goes = false; error = e; }
                if (!goes)
                {
                    lock (_ended) _ended.Add(m);
                    m.End(error);
                }
            }
        }

        private bool Step(Seat m)
        {
            var steps = m.Steps!;
            int k = group._data.Features, outputs = group._outputs;
            switch (Phase)
            {
                case Phase.Next: return steps.Next(out m.Start, out m.Rows);
                case Phase.Forward: return steps.Forward(group._x.AsSpan(0, Rows * k), group._y.AsSpan(0, Rows * outputs), Rows, m);
                case Phase.Update: return steps.Update(Rows, evaluateHere: false);
                case Phase.Evaluate:
                    steps.Evaluator.Batch(m.Pass!, group._ex.AsSpan(0, Rows * k), group._ey.AsSpan(0, Rows * outputs), Start, Rows, m);
                    return true;
                default: return steps.FinishEpoch(m.Validation, m.Test!);
            }
        }

        /// <summary>Takes the members whose training ended out of the group.</summary>
        public void RemoveEnded()
        {
            if (_ended.Count == 0) return;
            members.RemoveAll(_ended.Contains);
            _ended.Clear();
        }
    }

    private static int Width(List<Seat> members)
    {
        int n = 0;
        foreach (var m in members) n += m.Steps!.Net.Layers[0].Out;
        return n;
    }

    /// <summary>
    /// Whether a member's X·Wᵀ is part of the wide product: its columns must fall in the same tiles of
    /// the dot-product kernel as alone (a multiple of <see cref="Tile"/> wide, each starting at one), and
    /// k long enough for that kernel (shorter ones run as an axpy product whose column tails differ).
    /// δᵀ·X always is: its rows are the members' units, and each element of a row is the same lane of
    /// the same kernel whatever row it is.
    /// </summary>
    private static bool SharesForward(Seat m, int k) => k >= Gemm.ShortK && m.Steps!.Net.Layers[0].Out % Tile == 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward(List<Seat> members, Aligned<T> batch, int rows, int k)
    {
        var x = batch.AsSpan(0, rows * k);
        int wide = 0;
        foreach (var m in members) if (SharesForward(m, k)) wide += m.Steps!.Net.Layers[0].Out;
        if (wide > 0)
        {
            Grow(ref _w, wide * k);
            Grow(ref _z, rows * wide);
            int at = 0;
            foreach (var m in members)
            {
                if (!SharesForward(m, k)) continue;
                var l0 = m.Steps!.Net.Layers[0];
                l0.W.AsSpan(0, l0.Out * k).CopyTo(_w.AsSpan(at * k));
                at += l0.Out;
            }
            Gemm.MultiplyTransposedB<T>(x, _w, _z, rows, wide, k, _threads, _vectorBits);
            WideProducts++;
            at = 0;
            foreach (var m in members)
            {
                if (!SharesForward(m, k)) continue;
                var l0 = m.Steps!.Net.Layers[0];
                var z = m.Steps.Net.FirstPreActivations;
                for (int r = 0; r < rows; r++) _z.AsSpan(r * wide + at, l0.Out).CopyTo(z[(r * l0.Out)..]);
                at += l0.Out;
            }
        }
        foreach (var m in members)
        {
            if (SharesForward(m, k)) continue;
            var l0 = m.Steps!.Net.Layers[0];
            Gemm.MultiplyTransposedB<T>(x, l0.W, m.Steps.Net.FirstPreActivations, rows, l0.Out, k, _threads, _vectorBits);
        }
        MemberProducts += members.Count;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Gradient(List<Seat> members, int rows, int k)
    {
        var x = _x.AsSpan(0, rows * k);
        int wide = Width(members);
        Grow(ref _d, rows * wide);
        Grow(ref _g, wide * k);
        int at = 0;
        foreach (var m in members)
        {
            int units = m.Steps!.Net.Layers[0].Out;
            var d = m.Steps.Net.FirstDeltas;
            for (int r = 0; r < rows; r++) d.Slice(r * units, units).CopyTo(_d.AsSpan(r * wide + at));
            at += units;
        }
        Gemm.MultiplyTransposedA<T>(_d, x, _g, wide, k, rows, _threads, vectorBits: _vectorBits);
        WideProducts++;
        MemberProducts += members.Count;
        at = 0;
        foreach (var m in members)
        {
            var l0 = m.Steps!.Net.Layers[0];
            _g.AsSpan(at * k, l0.Out * k).CopyTo(l0.DW);
            at += l0.Out;
        }
    }

    private static void Grow(ref T[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new T[length];
    }

    private static void Grow(ref Aligned<T> buffer, int length)
    {
        if (buffer.Length < length) buffer = new Aligned<T>(length);
    }
}
