namespace Runtime.EndpointPicker.Requests;

/// <summary>One weighted target of a rewrite rule.</summary>
internal readonly record struct ModelRewriteTarget(string Model, int Weight);

/// <summary>
/// InferenceModelRewrite rules: an exact model name → weighted targets (traffic splitting, e.g.
/// a canary adapter), and optionally a fallback for every model no exact rule matches (a rule
/// with no matches). Replaced whole by its source; read without a lock.
/// </summary>
internal sealed class ModelRewriteRules
{
    private RuleSet _rules = new(new Dictionary<string, Rule>(StringComparer.Ordinal), null);

    public int Count => Volatile.Read(ref _rules).Exact.Count;

    public bool HasFallback => Volatile.Read(ref _rules).Fallback is not null;

    /// <param name="ruleNames">Model → name of the InferenceModelRewrite its rule came from (the metric label); missing names are empty.</param>
    /// <param name="fallbackName">Name of the InferenceModelRewrite the fallback rule came from.</param>
    public void Publish(
        IReadOnlyDictionary<string, IReadOnlyList<ModelRewriteTarget>> rules,
        IReadOnlyList<ModelRewriteTarget>? fallback = null,
        IReadOnlyDictionary<string, string>? ruleNames = null,
        string? fallbackName = null)
    {
        var next = new Dictionary<string, Rule>(StringComparer.Ordinal);
        foreach (var (model, targets) in rules)
        {
            next[model] = new Rule([.. targets], ruleNames is not null && ruleNames.TryGetValue(model, out var name) ? name : string.Empty);
        }

        Volatile.Write(ref _rules, new RuleSet(next, fallback is { Count: > 0 } ? new Rule([.. fallback], fallbackName ?? string.Empty) : null));
    }

    /// <summary>The target for <paramref name="model"/>, chosen by weight; false when no rule (nor fallback) matches.</summary>
    public bool TryRewrite(string model, out string target) => TryRewrite(model, out target, out _);

    /// <summary>As <see cref="TryRewrite(string, out string)"/>, also naming the InferenceModelRewrite that decided.</summary>
    public bool TryRewrite(string model, out string target, out string rewriteName)
    {
        var rules = Volatile.Read(ref _rules);
        if ((rules.Exact.TryGetValue(model, out var rule) ? rule : rules.Fallback) is { } matched)
        {
            target = matched.Pick();
            rewriteName = matched.Name;
            return true;
        }

        target = model;
        rewriteName = string.Empty;
        return false;
    }

    /// <summary>Parses <c>model=target[:weight][,target[:weight]…]</c> (weight defaults to 1).</summary>
    public static bool TryParse(IEnumerable<string> entries, out Dictionary<string, IReadOnlyList<ModelRewriteTarget>> rules, out List<string> errors)
    {
        rules = new Dictionary<string, IReadOnlyList<ModelRewriteTarget>>(StringComparer.Ordinal);
        errors = [];
        foreach (var raw in entries)
        {
            var entry = raw.Split('#')[0].Trim();
            if (entry.Length == 0)
            {
                continue;
            }

            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == entry.Length - 1)
            {
                errors.Add($"model rewrite \"{entry}\": expected model=target[:weight][,target[:weight]...]");
                continue;
            }

            var targets = new List<ModelRewriteTarget>();
            foreach (var part in entry[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var colon = part.LastIndexOf(':');
                var weight = 1;
                var name = part;
                if (colon > 0 && int.TryParse(part.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
                {
                    weight = parsed;
                    name = part[..colon];
                }

                if (weight <= 0)
                {
                    errors.Add($"model rewrite \"{entry}\": target \"{name}\" needs a positive weight");
                    continue;
                }

                targets.Add(new ModelRewriteTarget(name, weight));
            }

            if (targets.Count == 0)
            {
                errors.Add($"model rewrite \"{entry}\": no targets");
                continue;
            }

            rules[entry[..eq].Trim()] = targets;
        }

        return errors.Count == 0;
    }

    private sealed record RuleSet(Dictionary<string, Rule> Exact, Rule? Fallback);

    private sealed class Rule(ModelRewriteTarget[] targets, string name)
    {
        private readonly int _totalWeight = targets.Sum(t => t.Weight);

        public string Name { get; } = name;

        public string Pick()
        {
            if (targets.Length == 1)
            {
                return targets[0].Model;
            }

            var roll = Random.Shared.Next(_totalWeight);
            foreach (var target in targets)
            {
                roll -= target.Weight;
                if (roll < 0)
                {
                    return target.Model;
                }
            }

            return targets[^1].Model;
        }
    }
}
