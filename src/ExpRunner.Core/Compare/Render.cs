using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ExpRunner.Compare;

/// <summary>Text forms of a <see cref="Comparison"/>: formatting only, no arithmetic. Numbers are invariant culture.</summary>
public static class Render
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// A number as people read it: counts whole, seconds to a tenth, losses and accuracies to four
    /// decimals — and anything huge or tiny in scientific notation (an exploded loss is 5.897e+18,
    /// not nineteen digits).
    /// </summary>
    public static string Number(double v, string column)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        double a = Math.Abs(v);
        if (a >= 1e6 || (a < 1e-4 && a > 0 && column is not ("best_epoch" or "epochs_run"))) return v.ToString("0.###e+0", Inv);
        return column switch
        {
            "best_epoch" or "epochs_run" => v.ToString("0.##", Inv),
            "duration" => v.ToString("0.0", Inv),
            _ => v.ToString("0.0000", Inv),
        };
    }

    /// <summary>A p-value as it is read: p&lt;0.001, or three decimals.</summary>
    public static string P(double p) => p < 0.001 ? "p<0.001" : "p=" + p.ToString("0.000", Inv);

    /// <summary>
    /// A cell as plain text: a run's value; a group's mean ± the half-width of its 95% confidence
    /// interval, and its count; then the difference to a baseline and its p-value.
    /// </summary>
    public static string Text(Cell? cell, Column column, bool count = true)
    {
        if (cell is null) return "-";
        if (cell.Value is not double v) return cell.Text ?? "-";
        var sb = new StringBuilder(Number(v, column.Name));
        if (cell.Std is not null)
        {
            if (cell.Low is double lo && cell.High is double hi) sb.Append(" ± ").Append(Number((hi - lo) / 2, column.Name));
            if (count) sb.Append(" (").Append(cell.N.ToString(Inv)).Append(')');
        }
        if (cell.IsBaseline) sb.Append(" (baseline)");
        if (cell.Delta is double d)
        {
            sb.Append(" Δ").Append(d >= 0 ? "+" : "").Append(Number(d, column.Name));
            if (cell.P is double p) sb.Append(' ').Append(P(p));
        }
        return sb.ToString();
    }

    /// <summary>What the numbers of a grouped comparison mean (for a caption or a note).</summary>
    public static string Legend(Comparison c) =>
        (c.Grouped ? "groups: mean ± half-width of the 95% confidence interval" : "") +
        (c.HasDeltas && c.Rows.Any(r => r.Cells.Values.Any(x => x.Delta is not null))
            ? (c.Grouped ? "; " : "") + "Δ: difference to the baseline, p: Welch's t-test (groups) or a one-sample t-test (group vs run)" : "");

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
        if (Legend(c) is { Length: > 0 } legend) sb.Append("\n_").Append(legend).Append("_\n");
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("|", "\\|");

    /// <summary>CSV with raw numbers (round-trip): for groups _std, _n, _ci_low, _ci_high; against a baseline _delta and _p.</summary>
    public static string Csv(Comparison c)
    {
        bool deltas = c.HasDeltas;
        string[] Extras(Column col) => col.Kind != ColumnKind.Metric ? []
            : [.. c.Grouped ? new[] { "_std", "_n", "_ci_low", "_ci_high" } : [], .. deltas ? new[] { "_delta", "_p" } : []];
        var extras = c.Columns.Select(Extras).ToArray();
        var header = new List<string> { c.Grouped ? "group" : "run_id" };
        for (int i = 0; i < c.Columns.Count; i++) { header.Add(c.Columns[i].Name); header.AddRange(extras[i].Select(e => c.Columns[i].Name + e)); }
        static string R(double? v) => v is double x ? x.ToString("R", Inv) : "";
        void Row(StringBuilder sb, ComparisonRow row)
        {
            sb.Append(Quote(row.Label));
            for (int i = 0; i < c.Columns.Count; i++)
            {
                if (extras[i].Length == 0 && row.Cells is RunCells run)
                {
                    // A run's cell written as it is read (no cell made, the number formatted into the text).
                    sb.Append(',');
                    if (run.Peek(c.Columns[i].Key, out string? text, out double? value))
                        if (value is double number) sb.Append(Inv, $"{number:R}");
                        else sb.Append(Quote(text ?? ""));
                    continue;
                }
                row.Cells.TryGetValue(c.Columns[i].Key, out var cell);
                sb.Append(',').Append(Quote(cell?.Value is double v ? v.ToString("R", Inv) : cell?.Text ?? ""));
                foreach (var e in extras[i])
                    sb.Append(',').Append(Quote(e switch
                    {
                        "_std" => R(cell?.Std), "_n" => cell is null ? "" : cell.N.ToString(Inv), "_ci_low" => R(cell?.Low), "_ci_high" => R(cell?.High),
                        "_delta" => R(cell?.Delta), _ => R(cell?.P),
                    }));
            }
            sb.Append('\n');
        }
        // Rows in blocks on both cores, joined in order.
        const int Block = 2000;
        var blocks = Enumerable.Range(0, (c.Rows.Count + Block - 1) / Block).AsParallel().AsOrdered().Select(b =>
        {
            var sb = new StringBuilder(Block * 128);
            for (int i = b * Block; i < Math.Min(c.Rows.Count, (b + 1) * Block); i++) Row(sb, c.Rows[i]);
            return sb.ToString();
        }).ToList();
        var all = new StringBuilder(blocks.Sum(x => x.Length) + 1024);
        all.AppendJoin(',', header.Select(Quote)).Append('\n');
        foreach (var block in blocks) all.Append(block);
        return all.ToString();
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
                    ? new Dictionary<string, object?>
                    {
                        ["value"] = v, ["std"] = cell.Std, ["n"] = cell.N, ["ci95_low"] = cell.Low, ["ci95_high"] = cell.High,
                        ["best"] = cell.Best, ["delta"] = cell.Delta, ["p"] = cell.P,
                    }
                    : (object)(cell.Text ?? "");
            }),
        });
        return JsonSerializer.Serialize(new { columns = c.Columns.Select(x => x.Key), grouped = c.Grouped, rows }, IO.Json.Options) + "\n";
    }
}
