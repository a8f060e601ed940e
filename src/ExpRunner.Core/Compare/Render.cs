using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ExpRunner.Compare;

/// <summary>Text forms of a <see cref="Comparison"/>: formatting only, no arithmetic. Numbers are invariant culture.</summary>
public static class Render
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Number(double v, string column) => double.IsNaN(v) ? "NaN" : column switch
    {
        "best_epoch" or "epochs_run" => v.ToString("0.##", Inv),
        "duration" => v.ToString("0.0", Inv),
        _ => v.ToString("0.0000", Inv),
    };

    /// <summary>A cell as plain text: value, "mean ± std (n)" for a group, and the delta to a baseline.</summary>
    public static string Text(Cell? cell, Column column)
    {
        if (cell is null) return "-";
        if (cell.Value is not double v) return cell.Text ?? "-";
        var sb = new StringBuilder(Number(v, column.Name));
        if (cell.Std is double s) sb.Append(" ± ").Append(Number(s, column.Name)).Append(" (").Append(cell.N.ToString(Inv)).Append(')');
        if (cell.Delta is double d) sb.Append(" (").Append(d >= 0 ? "+" : "").Append(Number(d, column.Name)).Append(')');
        return sb.ToString();
    }

    public static string Header(Column c) => c.Name;

    public static string Markdown(Comparison c)
    {
        var sb = new StringBuilder();
        // A group is named by its parameter columns; a run by its id.
        var headers = (c.Grouped ? [] : new[] { "run" }).Concat(c.Columns.Select(Header)).ToList();
        var align = (c.Grouped ? [] : new[] { "---" }).Concat(c.Columns.Select(col => col.Kind == ColumnKind.Metric ? "---:" : "---"));
        sb.Append("| ").AppendJoin(" | ", headers.Select(Escape)).Append(" |\n");
        sb.Append('|').AppendJoin('|', align).Append("|\n");
        foreach (var row in c.Rows)
        {
            var cells = new List<string>();
            if (!c.Grouped) cells.Add(Escape(row.Label));
            foreach (var col in c.Columns)
            {
                row.Cells.TryGetValue(col.Key, out var cell);
                string text = Escape(Text(cell, col));
                cells.Add(cell?.Best == true ? $"**{text}**" : text);
            }
            sb.Append("| ").AppendJoin(" | ", cells).Append(" |\n");
        }
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("|", "\\|");

    /// <summary>CSV with raw numbers (round-trip), and _std / _n columns for groups.</summary>
    public static string Csv(Comparison c)
    {
        var sb = new StringBuilder();
        var header = new List<string> { c.Grouped ? "group" : "run_id" };
        foreach (var col in c.Columns)
        {
            header.Add(col.Name);
            if (c.Grouped && col.Kind == ColumnKind.Metric) { header.Add(col.Name + "_std"); header.Add(col.Name + "_n"); }
        }
        sb.AppendJoin(',', header.Select(Quote)).Append('\n');
        foreach (var row in c.Rows)
        {
            var fields = new List<string> { row.Label };
            foreach (var col in c.Columns)
            {
                row.Cells.TryGetValue(col.Key, out var cell);
                fields.Add(cell?.Value is double v ? v.ToString("R", Inv) : cell?.Text ?? "");
                if (c.Grouped && col.Kind == ColumnKind.Metric)
                {
                    fields.Add(cell?.Std is double s ? s.ToString("R", Inv) : "");
                    fields.Add(cell is null ? "" : cell.N.ToString(Inv));
                }
            }
            sb.AppendJoin(',', fields.Select(Quote)).Append('\n');
        }
        return sb.ToString();
    }

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    public static string Json(Comparison c)
    {
        var rows = c.Rows.Select(r => new Dictionary<string, object?>
        {
            [c.Grouped ? "group" : "run_id"] = r.Label,
            ["runs"] = r.Runs.Select(x => x.Id).ToList(),
            ["cells"] = c.Columns.Where(col => r.Cells.ContainsKey(col.Key)).ToDictionary(col => col.Key, col =>
            {
                var cell = r.Cells[col.Key];
                return cell.Value is double v
                    ? new Dictionary<string, object?> { ["value"] = v, ["std"] = cell.Std, ["n"] = cell.N, ["best"] = cell.Best, ["delta"] = cell.Delta }
                    : (object)(cell.Text ?? "");
            }),
        });
        return JsonSerializer.Serialize(new { columns = c.Columns.Select(x => x.Key), rows }, IO.Json.Options) + "\n";
    }
}
