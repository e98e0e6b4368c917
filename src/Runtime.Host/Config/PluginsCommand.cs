using System.Text.Json;
using Runtime.Host.Cli;
using Runtime.Plugins.Listing;

namespace Runtime.Host.Config;

/// <summary><c>runtime plugins</c>: every registered plugin type, feature gate and removed type, as a table or JSON.</summary>
internal static class PluginsCommand
{
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var format = "table";
        var flags = new FlagSet();
        flags.String("output", format, "Output format: table or json", v => format = v);
        if (args is ["--help"] or ["-h"] or ["-help"])
        {
            output.WriteLine("Usage of runtime plugins:\n" + flags.Usage());
            return 0;
        }

        flags.Parse(args);
        if (flags.Errors.Count > 0 || format is not ("table" or "json"))
        {
            return UsageErrors.Write(error, "plugins", [.. flags.Errors, .. format is "table" or "json" ? Array.Empty<string>() : [$"invalid value \"{format}\" for flag -output: table or json"]]);
        }

        var build = HostPlugins.Build();
        var listing = PluginListing.From(build);
        output.WriteLine(format == "json" ? JsonSerializer.Serialize(listing, PluginListingJsonContext.Readable.PluginListing) : PluginTable.Format(listing));
        return build.IsValid ? 0 : 1;
    }
}
