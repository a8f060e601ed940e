namespace ExpRunner.Config;

/// <summary>One problem in a config, located as file:line:col (or the --set that caused it) and key path.</summary>
public sealed record ConfigError(string Location, string Key, string Message)
{
    public override string ToString() => Key.Length == 0 ? $"{Location}: {Message}" : $"{Location} {Key}: {Message}";
}

/// <summary>A config that cannot be used; carries every error found, not just the first.</summary>
public sealed class ConfigException(IReadOnlyList<ConfigError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ConfigError> Errors { get; } = errors;
}

/// <summary>"(did you mean 'x'?)" for a word close to one of the words that are allowed.</summary>
public static class DidYouMean
{
    public static string Suggest(string word, IEnumerable<string> candidates)
    {
        var all = candidates.ToList();
        // An abbreviation or an extension of exactly one allowed word (test_acc, --runs-dir) says what was meant
        // better than edit distance does; otherwise the nearest word within a third of its length.
        var stems = all.Where(c => Math.Min(c.TrimStart('-').Length, word.TrimStart('-').Length) >= 3
            && (word.StartsWith(c, StringComparison.OrdinalIgnoreCase) || c.StartsWith(word, StringComparison.OrdinalIgnoreCase))).ToList();
        if (stems.Count > 0) return $" (did you mean '{stems.OrderBy(c => Math.Abs(c.Length - word.Length)).First()}'?)";
        string? best = null; int bestDistance = int.MaxValue;
        foreach (var c in all)
        {
            int d = Distance(word, c);
            if (d < bestDistance) { best = c; bestDistance = d; }
        }
        return best is not null && bestDistance <= Math.Max(2, word.Length / 3) ? $" (did you mean '{best}'?)" : "";
    }

    public static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
