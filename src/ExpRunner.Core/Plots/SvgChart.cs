using System.Globalization;
using System.Net;
using System.Text;

namespace ExpRunner.Plots;

/// <summary>
/// One curve: its points, its style (colour and dash from its index: the palette's colours first,
/// then the same colours dashed, dotted, ...), and optionally a band around it (the spread of a
/// group's runs). <paramref name="Train"/> curves are drawn lighter and dashed.
/// </summary>
public sealed record Series(string Label, IReadOnlyList<(double X, double Y)> Points, int Style, bool Train = false)
{
    public IReadOnlyList<(double X, double Low, double High)>? Band { get; init; }
    /// <summary>The curve was cut short on purpose (a pruned trial): an × marks where it stopped.</summary>
    public string? EndMark { get; init; }
}

public sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series)
{
    /// <summary>A loss axis: switches to a log scale when its values span more than <see cref="WideSpan"/>×.</summary>
    public bool LogWhenWide { get; init; }
    /// <summary>How wide a span switches <see cref="LogWhenWide"/> to a log scale (100×; norms and ratios, which live on a log scale: 10×).</summary>
    public double WideSpan { get; init; } = 100;
    /// <summary>A log x axis (a learning rate growing exponentially).</summary>
    public bool LogX { get; init; }
    /// <summary>Vertical marks across the panel at these x values, each with its label.</summary>
    public IReadOnlyList<(double X, string Label)> Marks { get; init; } = [];
}

/// <summary>
/// Line charts as standalone SVG: panels side by side sharing one legend, with axes, round ticks,
/// grid lines and the Okabe–Ito colour-blind-safe palette. Curves that coincide are told apart
/// (the later one dashed with markers, and "= …" in the legend), a wide-ranging loss gets a log
/// axis, labels are never cut, and every series is drawn at the same width. The structure carries
/// data- attributes (series, scale, legend) that tests check. Numbers are invariant culture.
/// </summary>
public static class SvgChart
{
    public static readonly string[] Palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"];
    private static readonly string[] Dashes = ["", "7 4", "2 3", "9 3 2 3"];

    private const int PanelW = 480, PanelH = 330, Right = 20, Top = 48, Bottom = 52, LegendRow = 20, LineWidth = 2;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Color(int style) => Palette[style % Palette.Length];
    public static string Dash(int style) => Dashes[style / Palette.Length % Dashes.Length];

    public static string Render(string title, IReadOnlyList<Panel> panels)
    {
        // A series whose points repeat an earlier one's exactly would hide under it: note which it equals.
        var twins = new Dictionary<Series, string>();
        foreach (var panel in panels)
            for (int j = 0; j < panel.Series.Count; j++)
                for (int i = 0; i < j; i++)
                    if (Same(panel.Series[i].Points, panel.Series[j].Points) && !twins.ContainsKey(panel.Series[j]))
                        twins[panel.Series[j]] = panel.Series[i].Label;
        var legend = panels.SelectMany(p => p.Series).GroupBy(s => (s.Label, s.Style, s.Train)).Select(g => g.First()).ToList();
        // Up to three panels side by side; four or more in rows of two.
        int perRow = panels.Count <= 3 ? Math.Max(1, panels.Count) : 2, panelRows = (panels.Count + perRow - 1) / perRow;
        int width = perRow * PanelW;
        var labels = legend.Select(s => s.Label + (twins.TryGetValue(s, out var of) ? $" (= {of})" : "")).ToList();
        int colW = Math.Min(width - 40, Math.Max(200, 34 + 7 * labels.Select(l => l.Length).DefaultIfEmpty(0).Max()));
        int columns = Math.Max(1, (width - 40) / colW);
        int legendRows = (legend.Count + columns - 1) / columns;
        const int RowGap = 14;
        int height = 36 + panelRows * PanelH + (panelRows - 1) * RowGap + 16 + legendRows * LegendRow + 10;
        var sb = new StringBuilder();
        sb.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\" data-series=\"{legend.Count}\">\n");
        sb.Append(Inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(Inv, $"<text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Esc(title)}</text>\n");
        for (int i = 0; i < panels.Count; i++) DrawPanel(sb, panels[i], i % perRow * PanelW, 28 + i / perRow * (PanelH + RowGap), twins);
        int y0 = 36 + panelRows * PanelH + (panelRows - 1) * RowGap + 16;
        sb.Append("<g class=\"legend\">\n");
        for (int i = 0; i < legend.Count; i++)
        {
            var s = legend[i];
            double x = 20 + (i % columns) * colW, y = y0 + (i / columns) * LegendRow;
            sb.Append(Inv, $"<line x1=\"{x}\" y1=\"{y}\" x2=\"{x + 26}\" y2=\"{y}\" {Stroke(s, twins.ContainsKey(s))}/>\n");
            if (twins.ContainsKey(s)) sb.Append(Inv, $"<circle cx=\"{x + 13}\" cy=\"{y}\" r=\"3\" fill=\"white\" stroke=\"{Color(s.Style)}\" stroke-width=\"1.5\"/>\n");
            sb.Append(Inv, $"<text x=\"{x + 32}\" y=\"{y + 4}\">{Esc(labels[i])}</text>\n");
        }
        sb.Append("</g>\n</svg>\n");
        return sb.ToString();
    }

    public static string Html(string title, string svg) =>
        $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{Esc(title)}</title></head>\n<body style=\"margin:16px;background:#fff\">\n{svg}</body></html>\n";

    private static string Stroke(Series s, bool twin)
    {
        string dash = twin ? "3 5" : s.Train ? "6 4" : Dash(s.Style);
        return $"stroke=\"{Color(s.Style)}\" stroke-width=\"{LineWidth}\" fill=\"none\"{(s.Train ? " stroke-opacity=\"0.6\"" : "")}{(dash.Length > 0 ? $" stroke-dasharray=\"{dash}\"" : "")}";
    }

    private static bool Same(IReadOnlyList<(double X, double Y)> a, IReadOnlyList<(double X, double Y)> b) =>
        a.Count == b.Count && a.Count > 0 && a.Zip(b).All(p => p.First.X == p.Second.X && Math.Abs(p.First.Y - p.Second.Y) <= 1e-12 * Math.Max(1, Math.Abs(p.First.Y)));

    private static void DrawPanel(StringBuilder sb, Panel panel, double ox, double oy, Dictionary<Series, string> twins)
    {
        var pts = panel.Series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var ys = pts.Select(p => p.Y).Concat(panel.Series.SelectMany(s => s.Band ?? []).SelectMany(b => new[] { b.Low, b.High })).Where(double.IsFinite).ToList();
        bool log = panel.LogWhenWide && ys.Count > 0 && ys.Min() > 0 && ys.Max() / ys.Min() > panel.WideSpan;
        var (xmin, xmax) = pts.Count == 0 ? (0.0, 1.0) : (pts.Min(p => p.X), pts.Max(p => p.X));
        bool logX = panel.LogX && pts.Count > 0 && xmin > 0;
        var xticks = logX ? LogTicks(xmin, xmax) : Ticks(xmin, xmax, 6, integers: true);
        double[] yticks = log ? LogTicks(ys.Min(), ys.Max()) : Ticks(ys.Count == 0 ? 0 : ys.Min(), ys.Count == 0 ? 1 : ys.Max(), 6, integers: false);
        bool scientific = log && yticks.Any(t => t >= 1e5 || t < 1e-3);
        var ylabels = yticks.Select(t => scientific ? t.ToString("0e+0", Inv) : log ? Compact(t) : Label(t, yticks)).ToList();
        double left = 30 + 7 * ylabels.Max(l => l.Length); // room for the widest tick label and the axis title
        double x0 = ox + left, x1 = ox + PanelW - Right, y0 = oy + Top, y1 = oy + PanelH - Bottom + 20;
        (xmin, xmax) = (xticks[0], xticks[^1]);
        double T(double v) => log ? Math.Log10(v) : v;
        double ymin = T(yticks[0]), ymax = T(yticks[^1]);
        double TX(double v) => logX ? Math.Log10(v) : v;
        double X(double v) => x0 + (TX(v) - TX(xmin)) / (TX(xmax) - TX(xmin)) * (x1 - x0);
        double Y(double v) => y1 - (T(v) - ymin) / (ymax - ymin) * (y1 - y0);
        sb.Append(Inv, $"<g class=\"panel\" data-title=\"{Esc(panel.Title)}\" data-scale=\"{(log ? "log" : "linear")}\">\n");
        sb.Append(Inv, $"<text x=\"{(x0 + x1) / 2}\" y=\"{oy + 24}\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{Esc(panel.Title)}{(log ? " (log scale)" : "")}</text>\n");
        for (int i = 0; i < yticks.Length; i++)
        {
            sb.Append(Inv, $"<line x1=\"{x0}\" y1=\"{Y(yticks[i]):0.##}\" x2=\"{x1}\" y2=\"{Y(yticks[i]):0.##}\" stroke=\"#e5e5e5\"/>\n");
            sb.Append(Inv, $"<text x=\"{x0 - 6}\" y=\"{Y(yticks[i]) + 4:0.##}\" text-anchor=\"end\">{ylabels[i]}</text>\n");
        }
        foreach (var t in xticks)
        {
            sb.Append(Inv, $"<line x1=\"{X(t):0.##}\" y1=\"{y1}\" x2=\"{X(t):0.##}\" y2=\"{y1 + 5}\" stroke=\"#333\"/>\n");
            sb.Append(Inv, $"<text x=\"{X(t):0.##}\" y=\"{y1 + 18}\" text-anchor=\"middle\">{(logX ? t.ToString("0e+0", Inv) : Label(t, xticks))}</text>\n");
        }
        for (int m = 0; m < panel.Marks.Count; m++)
        {
            var (mx, label) = panel.Marks[m];
            if (!double.IsFinite(mx) || (logX && mx <= 0)) continue;
            double px = X(mx);
            sb.Append(Inv, $"<line class=\"mark\" x1=\"{px:0.##}\" y1=\"{y0}\" x2=\"{px:0.##}\" y2=\"{y1}\" stroke=\"{Color(m + 1)}\" stroke-dasharray=\"4 3\"/>\n");
            bool right = px > (x0 + x1) / 2; // labels in the right half read leftwards, so none runs off the panel
            sb.Append(Inv, $"<text x=\"{(right ? px - 4 : px + 4):0.##}\" y=\"{y0 + 12 + 14 * m}\" text-anchor=\"{(right ? "end" : "start")}\" fill=\"{Color(m + 1)}\" font-size=\"11\">{Esc(label)}</text>\n");
        }
        sb.Append(Inv, $"<polyline points=\"{x0},{y0} {x0},{y1} {x1},{y1}\" fill=\"none\" stroke=\"#333\"/>\n");
        sb.Append(Inv, $"<text x=\"{(x0 + x1) / 2}\" y=\"{y1 + 38}\" text-anchor=\"middle\">{Esc(panel.XLabel)}</text>\n");
        sb.Append(Inv, $"<text transform=\"translate({ox + 14},{(y0 + y1) / 2}) rotate(-90)\" text-anchor=\"middle\">{Esc(panel.YLabel)}</text>\n");
        foreach (var s in panel.Series.Where(s => s.Band is { Count: > 1 }))
        {
            var band = s.Band!.Where(b => double.IsFinite(b.Low) && double.IsFinite(b.High) && (!log || b.Low > 0)).ToList();
            if (band.Count < 2) continue;
            sb.Append(Inv, $"<polygon class=\"band\" data-label=\"{Esc(s.Label)}\" fill=\"{Color(s.Style)}\" fill-opacity=\"{(s.Train ? 0.08 : 0.16)}\" stroke=\"none\" points=\"");
            foreach (var b in band) sb.Append(Inv, $"{X(b.X):0.##},{Y(b.High):0.##} ");
            foreach (var b in Enumerable.Reverse(band)) sb.Append(Inv, $"{X(b.X):0.##},{Y(b.Low):0.##} ");
            sb.Append("\"/>\n");
        }
        foreach (var s in panel.Series)
        {
            var p = s.Points.Where(q => double.IsFinite(q.X) && double.IsFinite(q.Y) && (!log || q.Y > 0)).ToList();
            if (p.Count == 0) continue;
            bool twin = twins.ContainsKey(s);
            if (p.Count == 1)
            {
                sb.Append(Inv, $"<circle class=\"series\" data-label=\"{Esc(s.Label)}\" cx=\"{X(p[0].X):0.##}\" cy=\"{Y(p[0].Y):0.##}\" r=\"3\" fill=\"{Color(s.Style)}\"/>\n");
                if (s.EndMark is { } endMark) Cross(sb, X(p[0].X), Y(p[0].Y), s, endMark);
                continue;
            }
            sb.Append(Inv, $"<polyline class=\"series\" data-label=\"{Esc(s.Label)}\"{(twin ? $" data-equals=\"{Esc(twins[s])}\"" : "")} stroke-linejoin=\"round\" {Stroke(s, twin)} points=\"");
            foreach (var q in p) sb.Append(Inv, $"{X(q.X):0.##},{Y(q.Y):0.##} ");
            sb.Append("\"><title>").Append(Esc(s.Label)).Append("</title></polyline>\n");
            if (s.EndMark is { } why) Cross(sb, X(p[^1].X), Y(p[^1].Y), s, why);
            if (twin) // open markers along the curve it coincides with, so both can be seen
                for (int i = 0; i < p.Count; i += Math.Max(1, p.Count / 12))
                    sb.Append(Inv, $"<circle cx=\"{X(p[i].X):0.##}\" cy=\"{Y(p[i].Y):0.##}\" r=\"3\" fill=\"white\" stroke=\"{Color(s.Style)}\" stroke-width=\"1.5\"/>\n");
        }
        sb.Append("</g>\n");
    }

    /// <summary>An × where a curve was stopped on purpose (class end-mark, data-why: e.g. PRUNED).</summary>
    private static void Cross(StringBuilder sb, double x, double y, Series s, string why) =>
        sb.Append(Inv, $"<path class=\"end-mark\" data-label=\"{Esc(s.Label)}\" data-why=\"{Esc(why)}\" d=\"M{x - 5:0.##},{y - 5:0.##} L{x + 5:0.##},{y + 5:0.##} M{x - 5:0.##},{y + 5:0.##} L{x + 5:0.##},{y - 5:0.##}\" stroke=\"{Color(s.Style)}\" stroke-width=\"2.5\"{(s.Train ? " stroke-opacity=\"0.6\"" : "")}/>\n");

    /// <summary>Round tick values (1, 2, 2.5, 5 × 10ᵏ) covering [min, max].</summary>
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

    /// <summary>Powers of ten covering [min, max] (every other one when there are many decades).</summary>
    public static double[] LogTicks(double min, double max)
    {
        int lo = (int)Math.Floor(Math.Log10(min)), hi = (int)Math.Ceiling(Math.Log10(max));
        int stride = Math.Max(1, (hi - lo + 7) / 8);
        return Enumerable.Range(0, (hi - lo) / stride + 1).Select(i => Math.Pow(10, lo + i * stride)).ToArray();
    }

    /// <summary>A value in few characters: 0.001, 0.5, 20, 1e+06.</summary>
    public static string Compact(double v) =>
        v != 0 && (Math.Abs(v) >= 1e5 || Math.Abs(v) < 1e-3) ? v.ToString("0.#e+0", Inv) : v.ToString("0.####", Inv);

    /// <summary>A tick value with the fewest decimals that show every tick of its axis exactly (compact when huge or tiny).</summary>
    private static string Label(double v, double[] ticks)
    {
        if (ticks.Any(t => Math.Abs(t) >= 1e5)) return Compact(v);
        double step = ticks.Length > 1 ? ticks[1] - ticks[0] : 1;
        int decimals = 0;
        while (decimals < 6 && ticks.Any(t => Math.Abs(Math.Round(t, decimals) - t) > step * 1e-6)) decimals++;
        return v.ToString("F" + decimals, Inv);
    }

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
