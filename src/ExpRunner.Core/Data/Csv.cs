using System.Globalization;

namespace ExpRunner.Data;

/// <summary>
/// A CSV file with a header row: every column but the label column is a numeric feature
/// (invariant culture, '.' decimal point). Labels are class indices 0..K−1, or names (sorted).
/// </summary>
public static class Csv
{
    /// <summary>The most classes a dataset may have (a label of 2,000,000,000 is a mistake, not 2 billion classes).</summary>
    public const int MaxClasses = 10_000;

    /// <summary>What a CSV data file is called in messages.</summary>
    public const string What = "CSV file";

    public static Dataset Read(string path, string labelColumn, IReadOnlyList<string>? knownClasses = null)
    {
        DataFile.Check(path, What);
        using var reader = new StreamReader(path);
        string? header = reader.ReadLine();
        if (header is null) throw new DataException($"{path}:1:1: empty file, expected a header row");
        var columns = header.Split(',').Select(c => c.Trim()).ToArray();
        int labelIndex = Array.IndexOf(columns, labelColumn);
        if (labelIndex < 0)
            throw new DataException($"{path}:1:1: no column '{labelColumn}' (columns: {string.Join(", ", columns)}); set dataset.label_column");
        int features = columns.Length - 1;
        if (features == 0) throw new DataException($"{path}:1:1: no feature columns besides '{labelColumn}'");
        var values = new List<double>();
        var rawLabels = new List<string>();
        int lineNo = 1;
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            var cells = line.Split(',');
            if (cells.Length != columns.Length)
                throw new DataException($"{path}:{lineNo}:1: {cells.Length} cells, header has {columns.Length}");
            int col = 1;
            for (int c = 0; c < cells.Length; c++)
            {
                string cell = cells[c].Trim();
                if (c == labelIndex && int.TryParse(cell, NumberStyles.None, CultureInfo.InvariantCulture, out int label) && label >= MaxClasses)
                    throw new DataException($"{path}:{lineNo}:{col}: label {cell} is not a class index below {MaxClasses}");
                if (c == labelIndex) rawLabels.Add(cell);
                else if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)) values.Add(v);
                else throw new DataException($"{path}:{lineNo}:{col}: column '{columns[c]}': '{cell}' is not a number");
                col += cells[c].Length + 1;
            }
        }
        if (rawLabels.Count == 0) throw new DataException($"{path}: no data rows");
        string[] classNames;
        int[] labels;
        if (knownClasses is null && rawLabels.All(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            labels = rawLabels.Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray();
            classNames = Enumerable.Range(0, Math.Max(2, labels.Max() + 1)).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        }
        else
        {
            classNames = knownClasses?.ToArray() ?? rawLabels.Distinct().Order(StringComparer.Ordinal).ToArray();
            if (classNames.Length > MaxClasses) throw new DataException($"{path}: {classNames.Length} distinct labels; at most {MaxClasses} classes");
            var index = classNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i);
            labels = new int[rawLabels.Count];
            for (int i = 0; i < labels.Length; i++)
                labels[i] = index.TryGetValue(rawLabels[i], out int k) ? k
                    : throw new DataException($"{path}: label '{rawLabels[i]}' does not occur in the training file");
        }
        return Dataset.FromValues(Path.GetFileNameWithoutExtension(path), values.ToArray(), labels, features, classNames.Length, classNames);
    }
}
