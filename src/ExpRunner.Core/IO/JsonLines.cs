using System.Text;

namespace ExpRunner.IO;

/// <summary>
/// Append-only logs of one JSON document a line (a sweep's event log, its rungs ledger). A line is
/// whole once its newline is written: a crash can leave only the last line cut short. Readers skip
/// such a tail and say so; a writer drops it before it appends, so every entry starts on a line of
/// its own and a cut line never merges with the next entry. Any other line that cannot be read is
/// damage, reported by its file and line number.
/// </summary>
public static class JsonLines
{
    /// <summary>The whole lines of a log (1-based numbers; empty lines skipped) and whether its last line was cut short.</summary>
    public static (List<(int Number, string Text)> Lines, bool CutTail) Read(string path, long maxBytes)
    {
        string text = BoundedFile.ReadText(path, maxBytes);
        var parts = text.Split('\n');
        var lines = new List<(int, string)>(parts.Length);
        for (int n = 0; n < parts.Length - 1; n++)
            if (parts[n].Length > 0) lines.Add((n + 1, parts[n]));
        return (lines, parts[^1].Length > 0);
    }

    /// <summary>
    /// Appends <paramref name="lines"/> (each ending in a newline), flushed to the disk; a cut last line
    /// left by a crash is dropped first. The caller holds the log's lock. Returns whether one was dropped.
    /// </summary>
    public static bool Append(string path, string lines)
    {
        using var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        bool cut = false;
        if (fs.Length > 0)
        {
            long end = fs.Length, keep = end;
            var buffer = new byte[4096];
            // Back to just after the last newline.
            while (keep > 0)
            {
                int n = (int)Math.Min(buffer.Length, keep);
                fs.Position = keep - n;
                fs.ReadExactly(buffer, 0, n);
                int at = Array.LastIndexOf(buffer, (byte)'\n', n - 1, n);
                if (at >= 0) { keep = keep - n + at + 1; break; }
                keep -= n;
            }
            if (keep < end) { fs.SetLength(keep); cut = true; }
        }
        fs.Position = fs.Length;
        fs.Write(Encoding.UTF8.GetBytes(lines));
        fs.Flush(flushToDisk: true);
        return cut;
    }
}
