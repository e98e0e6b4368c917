using System.Text;
using Runtime.Plugins.Lifecycle;

namespace Runtime.Plugins.Listing;

/// <summary>The human-readable listing behind <c>runtime plugins</c>.</summary>
internal static class PluginTable
{
    public static string Format(PluginListing listing)
    {
        var text = new StringBuilder();
        AppendTable(
            text,
            ["TYPE", "KIND", "STABILITY", "GATE", "ENABLED", "AVAILABLE"],
            listing.Plugins.Select(p => new[]
            {
                p.Type,
                string.Join(",", p.Kinds),
                p.Stability.ToString(),
                p.FeatureGate ?? "-",
                p.EnabledByDefault ? "yes" : "no",
                p.Implemented ? "yes" : "no",
            }));

        var deprecated = listing.Plugins.Where(p => p.Deprecation is not null).ToArray();
        if (deprecated.Length > 0)
        {
            text.AppendLine().AppendLine("Deprecated plugin types (still load, with a warning):");
            AppendTable(
                text,
                ["TYPE", "REPLACED BY", "WHY"],
                deprecated.Select(p => new[] { p.Type, string.Join(", ", p.Deprecation!.Replacements), p.Deprecation.Message }));
        }

        text.AppendLine().AppendLine("Feature gates (featureGates: [name] or {name: true|false}):");
        AppendTable(
            text,
            ["GATE", "STABILITY", "DEFAULT", "DESCRIPTION"],
            listing.FeatureGates.Select(g => new[]
            {
                g.Name,
                g.Stability.ToString(),
                g.Locked ? "on (locked)" : g.EnabledByDefault ? "on" : "off",
                g.Description,
            }));

        if (listing.Tombstones.Count > 0)
        {
            text.AppendLine().AppendLine("Removed plugin types:");
            AppendTable(
                text,
                ["TYPE", "REPLACED BY", "GUIDANCE"],
                listing.Tombstones.Select(t => new[] { t.Type, t.Replacements.Count == 0 ? "-" : string.Join(", ", t.Replacements), t.Guidance }));
        }

        if (listing.RegistrationErrors.Count > 0)
        {
            text.AppendLine().AppendLine("Invalid registrations (left out):");
            foreach (var error in listing.RegistrationErrors)
            {
                text.Append("  ").AppendLine(error);
            }
        }

        var unavailable = listing.Plugins.Where(p => !p.Implemented).ToArray();
        if (unavailable.Length > 0)
        {
            text.AppendLine()
                .Append(unavailable.Length).Append(" of ").Append(listing.Plugins.Count)
                .AppendLine(" types are known but not available in this build; a configuration naming one fails validation with the reason:");
            AppendTable(text, ["TYPE", "WHY"], unavailable.Select(p => new[] { p.Type, p.Unavailable ?? "no implementation in this build" }));
        }

        text.Append("Stability, least to most mature: ").AppendJoin(" < ", StabilityLevels.Names).AppendLine(".");
        text.AppendLine("Alpha types (as llm-d v0.10 declares them) load only with --allow-experimental-plugins (serve, validate).");
        return text.ToString();
    }

    private static void AppendTable(StringBuilder text, string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToArray();
        var widths = new int[header.Length];
        foreach (var row in all)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (var row in all)
        {
            for (var i = 0; i < row.Length; i++)
            {
                // The last column is free text: no padding, so long descriptions do not leave trailing spaces.
                text.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            text.AppendLine();
        }
    }
}
