namespace ExpRunner.Plots;

/// <summary>
/// Points to draw a long series with: at most two per pixel column — its lowest and its highest, in
/// the order they came — so a chart of 50,000 steps keeps every spike at any width (sampling every
/// n-th point, as trackers do, drops them) and draws as fast as one of 800 points.
/// </summary>
public static class Envelope
{
    /// <summary>Pixel columns of a chart panel's plotting area (the width it is decimated to).</summary>
    public const int Columns = 420;

    public static IReadOnlyList<(double X, double Y)> MinMax(IReadOnlyList<(double X, double Y)> points, int columns = Columns)
    {
        var finite = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        if (finite.Count <= 2 * columns) return finite;
        double first = finite[0].X, last = finite[^1].X;
        var result = new List<(double X, double Y)>(2 * columns);
        int i = 0;
        for (int c = 0; c < columns && i < finite.Count; c++)
        {
            double end = c == columns - 1 ? double.PositiveInfinity : first + (last - first) * (c + 1) / columns;
            var (low, high) = (finite[i], finite[i]);
            for (; i < finite.Count && finite[i].X <= end; i++)
            {
                if (finite[i].Y < low.Y) low = finite[i];
                if (finite[i].Y > high.Y) high = finite[i];
            }
            if (low == high) result.Add(low);
            else if (low.X <= high.X) { result.Add(low); result.Add(high); }
            else { result.Add(high); result.Add(low); }
        }
        return result;
    }

    /// <summary>
    /// A mean with a band (a group's runs at each step) decimated to pixel columns: per column the mean's lowest and
    /// highest point, in step order, each with the column's lowest low and highest high — no spike of the mean or of
    /// any run is lost.
    /// </summary>
    public static IReadOnlyList<(double X, double Mean, double Low, double High)> Band(IReadOnlyList<(double X, double Mean, double Low, double High)> points, int columns = Columns)
    {
        if (points.Count <= 2 * columns) return points;
        var result = new List<(double, double, double, double)>(2 * columns);
        double first = points[0].X, last = points[^1].X;
        int i = 0;
        for (int c = 0; c < columns && i < points.Count; c++)
        {
            double end = c == columns - 1 ? double.PositiveInfinity : first + (last - first) * (c + 1) / columns;
            int start = i, lo = i, hi = i;
            double low = double.PositiveInfinity, high = double.NegativeInfinity;
            for (; i < points.Count && points[i].X <= end; i++)
            {
                if (points[i].Mean < points[lo].Mean) lo = i;
                if (points[i].Mean > points[hi].Mean) hi = i;
                low = Math.Min(low, points[i].Low);
                high = Math.Max(high, points[i].High);
            }
            if (i == start) continue;
            foreach (int k in lo == hi ? [lo] : lo < hi ? new[] { lo, hi } : [hi, lo])
                result.Add((points[k].X, points[k].Mean, low, high));
        }
        return result;
    }

    /// <summary>Runs' per-step series as one: at each step the mean of the runs that have it, their lowest and highest (non-finite values left out).</summary>
    public static IReadOnlyList<(double X, double Mean, double Low, double High)> Across(IEnumerable<IReadOnlyList<(double X, double Y)>> runs)
    {
        var at = new SortedDictionary<double, (double Sum, int N, double Low, double High)>();
        foreach (var run in runs)
            foreach (var (x, y) in run)
            {
                if (!double.IsFinite(y)) continue;
                at[x] = at.TryGetValue(x, out var a) ? (a.Sum + y, a.N + 1, Math.Min(a.Low, y), Math.Max(a.High, y)) : (y, 1, y, y);
            }
        return [.. at.Select(kv => (kv.Key, kv.Value.Sum / kv.Value.N, kv.Value.Low, kv.Value.High))];
    }
}
