using Microsoft.Extensions.Logging;
using Runtime.Configuration.Model;
using Runtime.EndpointPicker.Plugins;
using Runtime.EndpointPicker.Requests;
using Runtime.Plugins;

namespace Runtime.Host.Serve;

/// <summary>
/// The parsers of the effective configuration: an llm-d configuration chooses among its
/// <c>requestHandler.parsers</c> per request by path; a GIE configuration reads every request with
/// its one parser, as GIE v1.5.0 does.
/// </summary>
internal static partial class RequestParsers
{
    public static RequestParserSet From(EndpointPickerConfig config, IReadOnlyDictionary<string, IPlugin> plugins, ILogger logger)
    {
        RequestParsing? Of(string? name) => name is not null && plugins.TryGetValue(name, out var plugin) && plugin is RequestParserPlugin parser ? parser.Parsing : null;

        if (config.Dialect != ConfigDialect.LlmD || config.RequestHandler?.Parsers is not { Count: > 0 } list)
        {
            return RequestParserSet.Single(Of(config.Parser?.PluginRef) ?? RequestParsing.OpenAI);
        }

        var parsings = list.Select(p => Of(p.PluginRef)).OfType<RequestParsing>().ToArray();
        var set = RequestParserSet.Build(parsings, out var skipped);
        foreach (var parsing in skipped)
        {
            LogSkipped(logger, parsing.ToString());
        }

        LogParsers(logger, string.Join(", ", set.Active));
        return set;
    }

    [LoggerMessage(90, LogLevel.Information, "Request parsers, chosen by path in this order: {Parsers}")]
    private static partial void LogParsers(ILogger logger, string parsers);

    [LoggerMessage(91, LogLevel.Warning, "Parser {Parser} is skipped: a duplicate type, or configured after the fallback parser (which takes every remaining path)")]
    private static partial void LogSkipped(ILogger logger, string parser);
}
