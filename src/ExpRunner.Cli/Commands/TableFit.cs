using Spectre.Console;

namespace ExpRunner.Cli.Commands;

/// <summary>A column of a table that must fit a width: its headers, its cells (markup), and how readily it goes when there is no room.</summary>
/// <param name="Drop">0: never dropped; otherwise the order in which columns go (1 first).</param>
internal sealed record FitColumn(string Header, string Short, IReadOnlyList<string> Cells, int Drop = 0, bool Right = false, bool NoWrap = false);

/// <summary>
/// Tables that fit the terminal: short headers when the full ones do not fit, then low-value columns
/// dropped one by one (the caller says which and notes them), and only then headers wider than their
/// values cut short — never a status or a run id split over lines (those columns do not wrap). A
/// table for a pipe or a file keeps every column and full names.
/// </summary>
internal static class TableFit
{
    public static (Table Table, IReadOnlyList<string> Dropped) Build(IReadOnlyList<FitColumn> columns, int width, bool terminal)
    {
        var kept = columns.ToList();
        var dropped = new List<string>();
        var headers = kept.ToDictionary(c => c, c => c.Header);
        if (terminal)
        {
            int CellWidth(FitColumn c) => c.Cells.Select(Visible).DefaultIfEmpty(0).Max();
            int Width() => 1 + kept.Sum(c => 3 + Math.Max(headers[c].Length, CellWidth(c)));
            // 1. short headers; 2. the low-value columns go, in their order; 3. headers wider than their cells are cut.
            if (Width() > width) foreach (var c in kept) headers[c] = c.Short;
            while (Width() > width && kept.Where(c => c.Drop > 0).MinBy(c => c.Drop) is { } victim)
            {
                kept.Remove(victim);
                dropped.Add(victim.Header);
            }
            while (Width() > width && kept.Where(c => headers[c].Length > Math.Max(CellWidth(c), 5)).MaxBy(c => headers[c].Length - CellWidth(c)) is { } wide)
            {
                int target = Math.Max(Math.Max(CellWidth(wide), 5), headers[wide].Length - (Width() - width));
                headers[wide] = headers[wide][..(target - 1)] + "…";
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
        int rows = kept.Count == 0 ? 0 : kept.Max(c => c.Cells.Count);
        for (int r = 0; r < rows; r++) table.AddRow(kept.Select(c => r < c.Cells.Count ? c.Cells[r] : "").ToArray());
        return (table, dropped);
    }

    public static int Visible(string markup) => Markup.Remove(markup).Length;
}
