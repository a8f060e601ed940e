using System.Globalization;
using System.Net;
using System.Text;

namespace ExpRunner.Plots;

public sealed record Series(string Label, IReadOnlyList<(double X, double Y)> Points, int Color, bool Dashed = false);

public sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series);

/// <summary>
/// Line charts as standalone SVG: panels side by side sharing one legend, with axes, "nice" ticks,
/// grid lines, axis labels and the Okabe–Ito colour-blind-safe palette. Numbers are invariant culture.
/// </summary>
public static class SvgChart
{
    public static readonly string[] Palette =
        ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000", "#999999", "#882255"];

    private const int PanelW = 460, PanelH = 320, Left = 64, Right = 20, Top = 48, Bottom = 52, LegendRow = 20;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(string title, IReadOnlyList<Panel> panels)
    {
        var legend = panels.SelectMany(p => p.Series).DistinctBy(s => (s.Label, s.Color, s.Dashed)).ToList();
        int columns = Math.Max(1, (panels.Count * PanelW - 40) / 300);
        int legendRows = (legend.Count + columns - 1) / columns;
        int width = panels.Count * PanelW, height = 36 + PanelH + 16 + legendRows * LegendRow + 10;
        var sb = new StringBuilder();
        sb.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n");
        sb.Append(Inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(Inv, $"<text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Esc(title)}</text>\n");
        for (int i = 0; i < panels.Count; i++) DrawPanel(sb, panels[i], i * PanelW, 28);
        int y0 = 36 + PanelH + 16, colW = (width - 40) / columns;
        for (int i = 0; i < legend.Count; i++)
        {
            var s = legend[i];
            double x = 20 + (i % columns) * colW, y = y0 + (i / columns) * LegendRow;
            sb.Append(Inv, $"<line x1=\"{x}\" y1=\"{y}\" x2=\"{x + 24}\" y2=\"{y}\" stroke=\"{Palette[s.Color % Palette.Length]}\" stroke-width=\"2.5\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>\n");
            sb.Append(Inv, $"<text x=\"{x + 30}\" y=\"{y + 4}\">{Esc(Shorten(s.Label, colW / 7))}</text>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    public static string Html(string title, string svg) =>
        $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{Esc(title)}</title></head>\n<body style=\"margin:16px;background:#fff\">\n{svg}</body></html>\n";

    private static void DrawPanel(StringBuilder sb, Panel panel, double ox, double oy)
    {
        double x0 = ox + Left, x1 = ox + PanelW - Right, y0 = oy + Top, y1 = oy + PanelH - Bottom + 20;
        var pts = panel.Series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        sb.Append(Inv, $"<text x=\"{(x0 + x1) / 2}\" y=\"{oy + 24}\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{Esc(panel.Title)}</text>\n");
        var (xmin, xmax) = pts.Count == 0 ? (0.0, 1.0) : (pts.Min(p => p.X), pts.Max(p => p.X));
        var (ymin, ymax) = pts.Count == 0 ? (0.0, 1.0) : (pts.Min(p => p.Y), pts.Max(p => p.Y));
        var xticks = Ticks(xmin, xmax, 6, integers: true);
        var yticks = Ticks(ymin, ymax, 6, integers: false);
        (xmin, xmax) = (xticks[0], xticks[^1]);
        (ymin, ymax) = (yticks[0], yticks[^1]);
        double X(double v) => x0 + (v - xmin) / (xmax - xmin) * (x1 - x0);
        double Y(double v) => y1 - (v - ymin) / (ymax - ymin) * (y1 - y0);
        foreach (var t in yticks)
        {
            sb.Append(Inv, $"<line x1=\"{x0}\" y1=\"{Y(t):0.##}\" x2=\"{x1}\" y2=\"{Y(t):0.##}\" stroke=\"#e5e5e5\"/>\n");
            sb.Append(Inv, $"<text x=\"{x0 - 6}\" y=\"{Y(t) + 4:0.##}\" text-anchor=\"end\">{Label(t, yticks)}</text>\n");
        }
        foreach (var t in xticks)
        {
            sb.Append(Inv, $"<line x1=\"{X(t):0.##}\" y1=\"{y1}\" x2=\"{X(t):0.##}\" y2=\"{y1 + 5}\" stroke=\"#333\"/>\n");
            sb.Append(Inv, $"<text x=\"{X(t):0.##}\" y=\"{y1 + 18}\" text-anchor=\"middle\">{Label(t, xticks)}</text>\n");
        }
        sb.Append(Inv, $"<polyline points=\"{x0},{y0} {x0},{y1} {x1},{y1}\" fill=\"none\" stroke=\"#333\"/>\n");
        sb.Append(Inv, $"<text x=\"{(x0 + x1) / 2}\" y=\"{y1 + 38}\" text-anchor=\"middle\">{Esc(panel.XLabel)}</text>\n");
        sb.Append(Inv, $"<text transform=\"translate({ox + 16},{(y0 + y1) / 2}) rotate(-90)\" text-anchor=\"middle\">{Esc(panel.YLabel)}</text>\n");
        int maxColor = Math.Max(1, panel.Series.Count == 0 ? 1 : panel.Series.Max(x => x.Color));
        foreach (var s in panel.Series)
        {
            // Earlier series are drawn wider, so a later series lying exactly on top leaves them visible.
            double strokeWidth = 1.5 + 2.5 * (maxColor - Math.Min(s.Color, maxColor)) / maxColor;
            var p = s.Points.Where(q => double.IsFinite(q.X) && double.IsFinite(q.Y)).ToList();
            if (p.Count == 0) continue;
            string color = Palette[s.Color % Palette.Length];
            if (p.Count == 1)
            {
                sb.Append(Inv, $"<circle cx=\"{X(p[0].X):0.##}\" cy=\"{Y(p[0].Y):0.##}\" r=\"3\" fill=\"{color}\"/>\n");
                continue;
            }
            sb.Append(Inv, $"<polyline fill=\"none\" stroke-width=\"{strokeWidth:0.##}\" stroke-linejoin=\"round\" stroke-opacity=\"0.9\" stroke=\"{color}\"");
            if (s.Dashed) sb.Append(" stroke-dasharray=\"6 4\"");
            sb.Append(" points=\"");
            foreach (var q in p) sb.Append(Inv, $"{X(q.X):0.##},{Y(q.Y):0.##} ");
            sb.Append("\"><title>").Append(Esc(s.Label)).Append("</title></polyline>\n");
        }
    }

    /// <summary>Round tick values (1, 2, 5 × 10ᵏ) covering [min, max].</summary>
    public static double[] Ticks(double min, double max, int target, bool integers)
    {
        if (max <= min) { double pad = Math.Abs(min) > 0 ? Math.Abs(min) * 0.1 : 1; min -= pad; max += pad; }
        double raw = (max - min) / Math.Max(1, target - 1);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 2.5, 5, 10 }.Select(m => m * mag).First(s => s >= raw);
        if (integers) step = Math.Max(1, Math.Round(step));
        double start = Math.Floor(min / step) * step, end = Math.Ceiling(max / step) * step;
        var ticks = new List<double>();
        for (double t = start; t <= end + step * 1e-9; t += step) ticks.Add(Math.Round(t / step) * step);
        return ticks.ToArray();
    }

    /// <summary>A tick value with the fewest decimals that show every tick of its axis exactly.</summary>
    private static string Label(double v, double[] ticks)
    {
        double step = ticks.Length > 1 ? ticks[1] - ticks[0] : 1;
        int decimals = 0;
        while (decimals < 6 && ticks.Any(t => Math.Abs(Math.Round(t, decimals) - t) > step * 1e-6)) decimals++;
        return v.ToString("F" + decimals, Inv);
    }

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..Math.Max(1, max - 1)] + "…";
    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
