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
    /// <summary>The trial no longer takes part (its training ended, or it trains on its own); the others go on. Idempotent.</summary>
    void Leave();
}

/// <summary>
/// Trials of a sweep that train together in one process: the same training data in the same order and
/// batch size, in lockstep, each on its own thread with its own network, optimizer and run folder. Each
/// batch is filled once for all of them, and the first layer's two products — X·Wᵀ forward and δᵀ·X for
/// the weight gradient, the bulk of a small network's work — run once over the group as one wider
/// product (the members' weights stacked) instead of one narrow product each.
/// <para>
/// Bit for bit each trial's own: per element the wide product does what a trial's own product does —
/// a dot product over the same k, in the same kernel, in a tile of the same shape (every member's rows
/// start at a multiple of 4 and number a multiple of 4, the widest tile the kernels put side by side);
/// members whose first layer is not a multiple of 4 wide get their own products, made in the same pass.
/// </para>
/// A member leaves when its training ends (finished, diverged, pruned, early-stopped, stopped, failed)
/// and the others go on without waiting for it.
/// </summary>
public sealed class TrialGroup<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Members' first layers must be a multiple of this wide, and start at a multiple of it, to share one product.</summary>
    public const int Tile = 4;

    private readonly Barrier _barrier;
    private readonly Lock _gate = new();
    private readonly List<Seat> _members = [];
    private readonly Dataset _data;
    private readonly int _outputs, _threads, _vectorBits;
    private readonly T[] _x, _y;
    private T[] _w = [], _z = [], _d = [], _g = [];
    private int[]? _checkedOrder;

    /// <param name="seats">How many trials will join (each must <see cref="Seat.Join"/> or <see cref="Seat.Leave"/>).</param>
    /// <param name="data">The training set every member trains on; <paramref name="trainCount"/>: its training split's size.</param>
    /// <param name="batch">The members' batch size.</param>
    /// <param name="outputs">Width of the labels' one-hot rows (the classes).</param>
    /// <param name="threads">Threads for the group's products.</param>
    public TrialGroup(int seats, Dataset data, int trainCount, int batch, int outputs, int threads, int vectorBits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seats, 1);
        _data = data; _outputs = outputs; _threads = Math.Max(1, threads); _vectorBits = vectorBits;
        int rows = Math.Min(batch, trainCount);
        _x = new T[rows * data.Features];
        _y = new T[rows * outputs];
        _barrier = new Barrier(seats, _ => Together());
        Seats = Enumerable.Range(0, seats).Select(i => new Seat(this, i)).ToArray();
    }

    public IReadOnlyList<Seat> Seats { get; }

    /// <summary>The batch being trained on (valid in a member between its <see cref="Seat.Product"/> and its next).</summary>
    public ReadOnlySpan<T> X(int rows) => _x.AsSpan(0, rows * _data.Features);
    public ReadOnlySpan<T> Y(int rows) => _y.AsSpan(0, rows * _outputs);

    /// <summary>How many products the group made as one wide product, and how many member products in all (a measure for tests and logs).</summary>
    public long WideProducts { get; private set; }
    public long MemberProducts { get; private set; }

    internal enum Phase { None, Forward, Gradient }

    /// <summary>One trial's place: it joins with its network when training starts and leaves when it ends.</summary>
    public sealed class Seat(TrialGroup<T> group, int index) : ITrialSeat, IFirstLayerShare
    {
        private int _left;
        internal Network<T>? Net;
        internal int[] Order = [];
        internal int Start, Rows;
        internal Phase Arrived;
        public int Index => index;
        public TrialGroup<T> Group => group;

        /// <summary>Takes part from now on, training <paramref name="net"/>.</summary>
        public void Join(Network<T> net)
        {
            if (net.Inputs != group._data.Features || net.Outputs != group._outputs)
                throw new InvalidOperationException($"a network {net.Inputs}→{net.Outputs} cannot train in a group on data {group._data.Features}→{group._outputs}");
            lock (group._gate)
            {
                if (Net is not null || Volatile.Read(ref _left) != 0) throw new InvalidOperationException("a trial joins its group once");
                Net = net;
                group._members.Add(this);
                group._members.Sort((a, b) => a.Index.CompareTo(b.Index));
            }
        }

        /// <summary>The batch <paramref name="order"/>[start..start+rows) into the group's X and Y; returns once every member has its first layer's Z.</summary>
        public void Batch(int[] order, int start, int rows)
        {
            (Order, Start, Rows) = (order, start, rows);
            Arrive(Phase.Forward);
        }

        void IFirstLayerShare.Product(int rows)
        {
            // The product was made when the batch was handed out (Batch): nothing is left to wait for.
            if (rows != Rows || Arrived != Phase.Forward) throw new InvalidOperationException("the group's batch is not the one being trained on");
        }

        void IFirstLayerShare.Gradient(int rows) => Arrive(Phase.Gradient);

        private void Arrive(Phase phase)
        {
            if (Net is null || Volatile.Read(ref _left) != 0) throw new InvalidOperationException("a trial that is not in its group trains as one");
            Arrived = phase;
            group._barrier.SignalAndWait();
        }

        public void Leave()
        {
            if (Interlocked.Exchange(ref _left, 1) != 0) return;
            lock (group._gate) group._members.Remove(this);
            group._barrier.RemoveParticipant();
        }
    }

    /// <summary>Every member has arrived: make the products of the phase they arrived for (on the last one's thread).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Together()
    {
        Seat[] members;
        lock (_gate) members = [.. _members];
        if (members.Length == 0) return;
        var phase = members[0].Arrived;
        foreach (var m in members)
            if (m.Arrived != phase || m.Start != members[0].Start || m.Rows != members[0].Rows)
                throw new InvalidOperationException($"trials of a group out of step: trial {m.Index} is at row {m.Start} ({m.Arrived}), trial {members[0].Index} at {members[0].Start} ({phase})");
        int rows = members[0].Rows, k = _data.Features;
        if (phase == Phase.Forward)
        {
            var order = members[0].Order;
            if (members[0].Start == 0 || !ReferenceEquals(order, _checkedOrder))
            {
                // Each trial keeps its own order (its shuffle is its own): they must agree, or the group is not one.
                foreach (var m in members)
                    if (!m.Order.AsSpan().SequenceEqual(order))
                        throw new InvalidOperationException($"trial {m.Index} trains on its data in another order than trial {members[0].Index}: they cannot train together");
                _checkedOrder = order;
            }
            _data.FillBatch<T>(order, members[0].Start, rows, _x, _y, _outputs, Gemm.Parts(rows, Width(members), k, _threads));
        }
        if (phase == Phase.Forward) Forward(members, rows, k);
        else Gradient(members, rows, k);
    }

    /// <summary>
    /// Whether a member's X·Wᵀ is part of the wide product: its columns must fall in the same tiles of
    /// the dot-product kernel as alone (a multiple of <see cref="Tile"/> wide, each starting at one), and
    /// k long enough for that kernel (shorter ones run as an axpy product whose column tails differ).
    /// δᵀ·X always is: its rows are the members' units, and each element of a row is the same lane of
    /// the same kernel whatever row it is.
    /// </summary>
    private static bool SharesForward(Seat m, int k) => k >= Gemm.ShortK && m.Net!.Layers[0].Out % Tile == 0;

    private static int Width(Seat[] members)
    {
        int n = 0;
        foreach (var m in members) n += m.Net!.Layers[0].Out;
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward(Seat[] members, int rows, int k)
    {
        var x = X(rows);
        int wide = 0;
        foreach (var m in members) if (SharesForward(m, k)) wide += m.Net!.Layers[0].Out;
        if (wide > 0)
        {
            Grow(ref _w, wide * k);
            Grow(ref _z, rows * wide);
            int at = 0;
            foreach (var m in members)
            {
                var l0 = m.Net!.Layers[0];
                if (!SharesForward(m, k)) continue;
                l0.W.AsSpan(0, l0.Out * k).CopyTo(_w.AsSpan(at * k));
                at += l0.Out;
            }
            Gemm.MultiplyTransposedB<T>(x, _w, _z, rows, wide, k, _threads, _vectorBits);
            WideProducts++;
            at = 0;
            foreach (var m in members)
            {
                var l0 = m.Net!.Layers[0];
                if (!SharesForward(m, k)) continue;
                var z = m.Net.FirstPreActivations;
                for (int r = 0; r < rows; r++) _z.AsSpan(r * wide + at, l0.Out).CopyTo(z.AsSpan(r * l0.Out));
                at += l0.Out;
            }
        }
        foreach (var m in members)
        {
            var l0 = m.Net!.Layers[0];
            if (SharesForward(m, k)) continue;
            Gemm.MultiplyTransposedB<T>(x, l0.W, m.Net.FirstPreActivations, rows, l0.Out, k, _threads, _vectorBits);
        }
        MemberProducts += members.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Gradient(Seat[] members, int rows, int k)
    {
        var x = X(rows);
        int wide = Width(members);
        Grow(ref _d, rows * wide);
        Grow(ref _g, wide * k);
        int at = 0;
        foreach (var m in members)
        {
            int units = m.Net!.Layers[0].Out;
            var d = m.Net.FirstDeltas;
            for (int r = 0; r < rows; r++) d.AsSpan(r * units, units).CopyTo(_d.AsSpan(r * wide + at));
            at += units;
        }
        Gemm.MultiplyTransposedA<T>(_d, x, _g, wide, k, rows, _threads, vectorBits: _vectorBits);
        WideProducts++;
        MemberProducts += members.Length;
        at = 0;
        foreach (var m in members)
        {
            var l0 = m.Net!.Layers[0];
            _g.AsSpan(at * k, l0.Out * k).CopyTo(l0.DW);
            at += l0.Out;
        }
    }

    private static void Grow(ref T[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new T[length];
    }
}
