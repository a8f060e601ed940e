using ExpRunner.Config;

namespace ExpRunner.Compare;

/// <summary>A key compare does not know, and its error: the unique full key it abbreviates, else a did-you-mean.</summary>
public sealed class CompareException(string message) : Exception(message);

public static class Keys
{
    /// <summary>
    /// The distinct param (or metric) names of runs, in first-seen order. Rows read from the index share
    /// one name array per key set, so 100,000 runs cost one look per distinct set, not per run.
    /// </summary>
    public static List<string> Of(IEnumerable<RunRow> runs, bool metrics = false)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var names = new List<string>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        object? last = null;
        foreach (var r in runs)
        {
            var keys = metrics ? r.Metrics.Keys : r.Params.Keys;
            if (ReferenceEquals(keys, last)) continue; // runs in a row mostly share one set
            last = keys;
            if (!seen.Add(keys)) continue;
            foreach (var k in keys) if (known.Add(k)) names.Add(k);
        }
        return names;
    }

    /// <summary>
    /// Each key by its shortest dotted suffix that no other key of the set ends with:
    /// training.learning_rate → learning_rate, model.layers.0.units → 0.units beside model.layers.1.units.
    /// </summary>
    public static Dictionary<string, string> Short(IEnumerable<string> keys)
    {
        var all = keys.Distinct().ToList();
        var result = new Dictionary<string, string>();
        foreach (var key in all)
        {
            var parts = key.Split('.');
            string shortest = key;
            for (int n = 1; n <= parts.Length; n++)
            {
                string tail = string.Join('.', parts[^n..]);
                if (all.Count(k => k == tail || k.EndsWith("." + tail, StringComparison.Ordinal)) == 1) { shortest = tail; break; }
            }
            result[key] = shortest;
        }
        return result;
    }

    /// <summary>" (did you mean 'training.learning_rate'?)" for learning_rate, or for a near miss; "" when nothing is close.</summary>
    public static string Suggest(string key, IEnumerable<string> known)
    {
        var names = known.Distinct().ToList();
        var byTail = names.Where(n => n.EndsWith("." + key, StringComparison.Ordinal)).ToList();
        return byTail.Count == 1 ? $" (did you mean '{byTail[0]}'?)" : DidYouMean.Suggest(key, names);
    }
}
