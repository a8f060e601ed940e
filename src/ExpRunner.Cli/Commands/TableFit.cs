using Spectre.Console;

namespace ExpRunner.Cli.Commands;

/// <summary>A column of a table that must fit a width: its headers, its cells (markup), and how readily it goes when there is no room.</summary>
/// <param name="Drop">0: never dropped; otherwise the order in which columns go (1 first).</param>
internal sealed record FitColumn(string Header, string Short, IReadOnlyList<string> Cells, int Drop = 0, bool Right = false, bool NoWrap = false)
{
    /// <summary>Shorter cells used with the short headers (a run id's tail).</summary>
    public IReadOnlyList<string>? ShortCells { get; init; }
    /// <summary>A key the user swept or grouped by: its header is cut only when no other header can be.</summary>
    public bool Key { get; init; }
}

/// <summary>
/// Tables that fit the terminal: short headers (and short cells, e.g. a run id's tail) when the full ones
/// do not fit, then low-value columns dropped one by one (the caller says which and notes them), and
/// only then headers wider than their values cut short — a key the user swept or grouped by last —
/// never a status or a run id split over lines (those columns do not wrap). A table for a pipe or a
/// file keeps every column and full names.
/// </summary>
internal static class TableFit
{
    public static (Table Table, IReadOnlyList<string> Dropped) Build(IReadOnlyList<FitColumn> columns, int width, bool terminal)
    {
        var kept = columns.ToList();
        var dropped = new List<string>();
        var headers = kept.ToDictionary(c => c, c => c.Header);
        var cells = kept.ToDictionary(c => c, c => c.Cells);
        if (terminal)
        {
            int CellWidth(FitColumn c) => cells[c].Select(Visible).DefaultIfEmpty(0).Max();
            int Width() => 1 + kept.Sum(c => 3 + Math.Max(HeaderWidth(headers[c]), CellWidth(c)));
            // 1. short headers and cells; 2. the low-value columns go, in their order; 3. headers wider than their cells are cut, keys' last.
            if (Width() > width)
                foreach (var c in kept)
                {
                    headers[c] = c.Short;
                    if (c.ShortCells is { } shortCells) cells[c] = shortCells;
                }
            while (Width() > width && kept.Where(c => c.Drop > 0).MinBy(c => c.Drop) is { } victim)
            {
                kept.Remove(victim);
                dropped.Add(victim.Header);
            }
            // A key's header is first broken over two lines at an underscore (gradient_ / reduction), and cut only after that.
            foreach (var c in kept.Where(c => c.Key))
                if (Width() > width && headers[c].LastIndexOf('_', headers[c].Length - 2) is int at and > 0 && headers[c].IndexOf('\n', StringComparison.Ordinal) < 0)
                    headers[c] = headers[c][..(at + 1)] + "\n" + headers[c][(at + 1)..];
            foreach (bool keys in new[] { false, true })
                while (Width() > width && kept.Where(c => c.Key == keys && HeaderWidth(headers[c]) > Math.Max(CellWidth(c), 5)).MaxBy(c => HeaderWidth(headers[c]) - CellWidth(c)) is { } wide)
                {
                    string h = headers[wide].Replace("\n", "", StringComparison.Ordinal);
                    int target = Math.Max(Math.Max(CellWidth(wide), 5), HeaderWidth(headers[wide]) - (Width() - width));
                    headers[wide] = h[..(target - 1)] + "…";
                }
        }
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in kept)
        {
            var column = new TableColumn(Markup.Escape(headers[c]));
            if (c.Right) column.RightAligned();
            if (c.NoWrap) column.NoWrap();
            table.AddColumn(column);
        }
        int rows = kept.Count == 0 ? 0 : kept.Max(c => cells[c].Count);
        for (int r = 0; r < rows; r++) table.AddRow(kept.Select(c => r < cells[c].Count ? cells[c][r] : "").ToArray());
        return (table, dropped);
    }

    public static int Visible(string markup) => Markup.Remove(markup).Length;

    private static int HeaderWidth(string header) => header.Split('\n').Max(l => l.Length);
}
