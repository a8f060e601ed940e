using ExpRunner.Config;

namespace ExpRunner.Compare;

/// <summary>A key compare does not know, and its error: the unique full key it abbreviates, else a did-you-mean.</summary>
public sealed class CompareException(string message) : Exception(message);

public static class Keys
{
    /// <summary>" (did you mean 'training.learning_rate'?)" for learning_rate, or for a near miss; "" when nothing is close.</summary>
    public static string Suggest(string key, IEnumerable<string> known)
    {
        var names = known.Distinct().ToList();
        var byTail = names.Where(n => n.EndsWith("." + key, StringComparison.Ordinal)).ToList();
        return byTail.Count == 1 ? $" (did you mean '{byTail[0]}'?)" : DidYouMean.Suggest(key, names);
    }
}
