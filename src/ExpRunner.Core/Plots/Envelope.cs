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
}
