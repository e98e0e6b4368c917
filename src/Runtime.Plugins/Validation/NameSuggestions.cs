namespace Runtime.Plugins.Validation;

/// <summary>"did you mean" hints for misspelt names and fields.</summary>
internal static class NameSuggestions
{
    /// <summary>"; did you mean \"x\"?" for the closest candidate that looks like what was meant, else empty.</summary>
    public static string Hint(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        var words = name.Split('-', StringSplitOptions.RemoveEmptyEntries);
        foreach (var candidate in candidates)
        {
            var distance = Distance(name, candidate);

            // A typo (at most a third of the name differs), or a shortened name whose every word is
            // in the candidate ("prefix-scorer" for "prefix-cache-scorer").
            var plausible = distance <= Math.Max(2, name.Length / 3) ||
                (words.Length > 1 && words.All(w => candidate.Split('-').Contains(w, StringComparer.OrdinalIgnoreCase)));
            if (plausible && distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return best is null ? string.Empty : $"; did you mean \"{best}\"?";
    }

    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
