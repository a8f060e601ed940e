namespace ExpRunner.Compare;

/// <summary>
/// The one order of runs and comparison rows by a column, shared by `compare`, `list` and the UI:
/// numbers as numbers, text by ordinal; in either direction a NaN (a diverged run's loss) comes after
/// every number and a missing value after everything, so sorting descending never puts the runs
/// without a value on top. Ties keep a stable order given by the caller.
/// </summary>
public static class SortOrder
{
    public static int Numbers(double? a, double? b, bool descending)
    {
        if (a is null || b is null) return a is null == b is null ? 0 : a is null ? 1 : -1;
        bool nanA = double.IsNaN(a.Value), nanB = double.IsNaN(b.Value);
        if (nanA || nanB) return nanA == nanB ? 0 : nanA ? 1 : -1;
        return (descending ? -1 : 1) * a.Value.CompareTo(b.Value);
    }

    public static int Texts(string? a, string? b, bool descending)
    {
        if (a is null || b is null) return a is null == b is null ? 0 : a is null ? 1 : -1;
        return (descending ? -1 : 1) * string.CompareOrdinal(a, b);
    }

    /// <summary>Whether a column sorts as numbers: every present value reads as one.</summary>
    public static bool AllNumbers(IEnumerable<string?> values, out Func<string?, double?> parse)
    {
        parse = t => t is not null && double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) ? v : null;
        var p = parse;
        return values.All(t => t is null || p(t) is not null);
    }
}
