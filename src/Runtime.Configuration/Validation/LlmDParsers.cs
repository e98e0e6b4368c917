using Runtime.Configuration.Model;
using Runtime.Plugins.BuiltIn;

namespace Runtime.Configuration.Validation;

/// <summary>
/// The parser list of an llm-d configuration (llm-d v0.10's loader): <c>requestHandler.parsers</c> when
/// set; else the deprecated top-level <c>parser</c> copied in; else the default list — <c>openai-parser</c>,
/// <c>anthropic-parser</c>, <c>vllmhttp-parser</c> — with <c>passthrough-parser</c> appended, so requests on
/// paths no parser claims are forwarded unread rather than refused (llm-d after v0.10 does the same).
/// </summary>
internal static class LlmDParsers
{
    public const string TopLevelParserDeprecation = "DEPRECATION: top-level parser is deprecated, use requestHandler.parsers instead. If both are set, the new field is used.";

    /// <summary>The parsers by name, in order; Type is the type to declare when the name is a default not declared (null: as configured).</summary>
    public static IReadOnlyList<(string Name, string? Type)> Effective(EndpointPickerConfig config)
    {
        if (config.RequestHandler?.Parsers is { Count: > 0 } parsers)
        {
            return [.. parsers.Select(p => (p.PluginRef ?? string.Empty, (string?)null))];
        }

        if (config.Parser?.PluginRef is { Length: > 0 } single)
        {
            return [(single, null)];
        }

        return
        [
            (BuiltInPlugins.OpenAIParser, BuiltInPlugins.OpenAIParser),
            (BuiltInPlugins.AnthropicParser, BuiltInPlugins.AnthropicParser),
            (BuiltInPlugins.VllmHttpParser, BuiltInPlugins.VllmHttpParser),
            (BuiltInPlugins.PassthroughParser, BuiltInPlugins.PassthroughParser),
        ];
    }
}
