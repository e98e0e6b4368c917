using System.Text;
using System.Text.Json;
using Runtime.BodyParsing;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;
using Runtime.Plugins.Values;

namespace Runtime.EndpointPicker.Plugins;

/// <summary>How the endpoint picker reads request bodies.</summary>
internal enum RequestParsing
{
    /// <summary><c>openai-parser</c>: model, prompt, stream and cache_salt of OpenAI-style APIs, chosen by path.</summary>
    OpenAI,

    /// <summary><c>passthrough-parser</c>: the body is not read; requests are scheduled without model or prompt.</summary>
    Passthrough,

    /// <summary><c>vllmgrpc-parser</c>: vLLM's gRPC Generate/Embed requests (a gRPC frame; prompt, stream, no model).</summary>
    VllmGrpc,

    /// <summary><c>anthropic-parser</c>: the Anthropic Messages API (model, system + messages, stream).</summary>
    Anthropic,

    /// <summary><c>vllmhttp-parser</c>: vLLM's <c>/inference/v1/generate</c> (token_ids, optional model, stream).</summary>
    VllmHttp,
}

/// <summary>A configured parser (<c>openai-parser</c>, <c>passthrough-parser</c>): the one the configuration's parser reference names is used.</summary>
internal sealed record RequestParserPlugin(string TypeName, string Name, RequestParsing Parsing) : IPlugin;

/// <summary>
/// <c>destination-endpoint-served-verifier</c> (GIE v1.5.0's conformance hook): on the response headers,
/// copies the endpoint Envoy reports as served (<c>envoy.lb</c> / <c>x-gateway-destination-endpoint-served</c>
/// request metadata) into the <c>x-conformance-test-served-endpoint</c> response header, or writes
/// <c>fail: …</c> when the metadata is missing.
/// </summary>
internal sealed record DestinationEndpointServedVerifier(string Name) : IPlugin
{
    public const string ResultHeader = "x-conformance-test-served-endpoint";

    public string TypeName => BuiltInPlugins.DestinationEndpointServedVerifier;
}

/// <summary>
/// <c>request-attribute-reporter</c> (GIE v1.5.0): when the response ends, evaluates the condition and
/// expression over the response's usage (<c>prompt_tokens</c>, <c>completion_tokens</c>,
/// <c>total_tokens</c> and, when reported, <c>prompt_token_details.cached_tokens</c>; numbers as
/// doubles, zeros when the response reported none) and, unless the result is zero, returns it as
/// number-valued dynamic metadata <c>namespace</c>/<c>name</c> with the final response body reply.
/// </summary>
internal sealed class RequestAttributeReporter : IPlugin
{
    private readonly UsageExpression _expression;
    private readonly UsageExpression? _condition;

    public RequestAttributeReporter(string name, string filterNamespace, string key, UsageExpression expression, UsageExpression? condition)
    {
        Name = name;
        Namespace = filterNamespace;
        Key = key;
        NamespaceUtf8 = Encoding.UTF8.GetBytes(filterNamespace);
        KeyUtf8 = Encoding.UTF8.GetBytes(key);
        _expression = expression;
        _condition = condition;
    }

    public string TypeName => BuiltInPlugins.RequestAttributeReporter;

    public string Name { get; }

    public string Namespace { get; }

    public string Key { get; }

    internal byte[] NamespaceUtf8 { get; }

    internal byte[] KeyUtf8 { get; }

    /// <summary>The integer to report for <paramref name="usage"/>, or false (condition not met, evaluation error, non-number, or zero — GIE skips zeros).</summary>
    public bool TryCompute(TokenUsage usage, out long value)
    {
        value = 0;
        var data = UsageData(usage);
        if (_condition is not null && (!_condition.TryEvaluate(data, out var holds, out _) || holds is not true))
        {
            return false;
        }

        if (!_expression.TryEvaluate(data, out var result, out _) || result is not double number || double.IsNaN(number))
        {
            return false;
        }

        value = (long)number;
        return value != 0;
    }

    /// <summary>GIE marshals its usage struct to a protobuf Struct: every count is present (0 when unknown), details only when reported.</summary>
    private static Dictionary<string, object?> UsageData(TokenUsage usage)
    {
        var data = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["prompt_tokens"] = (double)usage.PromptTokens,
            ["completion_tokens"] = (double)usage.CompletionTokens,
            ["total_tokens"] = (double)(usage.PromptTokens + usage.CompletionTokens),
        };
        if (usage.CachedPromptTokens > 0)
        {
            data["prompt_token_details"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["cached_tokens"] = (double)usage.CachedPromptTokens };
        }

        return data;
    }
}

/// <summary>The factories of the request-path plugin types: parsers and response hooks.</summary>
internal static class EndpointPickerPlugins
{
    public static PluginRegistryBuilder UseEndpointPickerFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(BuiltInPlugins.OpenAIParser, static (name, _, _) => PluginResult.Success(new RequestParserPlugin(BuiltInPlugins.OpenAIParser, name, RequestParsing.OpenAI)))
        .UseFactory(BuiltInPlugins.PassthroughParser, static (name, _, _) => PluginResult.Success(new RequestParserPlugin(BuiltInPlugins.PassthroughParser, name, RequestParsing.Passthrough)))
        .UseFactory(BuiltInPlugins.VllmGrpcParser, static (name, _, _) => PluginResult.Success(new RequestParserPlugin(BuiltInPlugins.VllmGrpcParser, name, RequestParsing.VllmGrpc)))
        .UseFactory(BuiltInPlugins.AnthropicParser, static (name, _, _) => PluginResult.Success(new RequestParserPlugin(BuiltInPlugins.AnthropicParser, name, RequestParsing.Anthropic)))
        .UseFactory(BuiltInPlugins.VllmHttpParser, static (name, _, _) => PluginResult.Success(new RequestParserPlugin(BuiltInPlugins.VllmHttpParser, name, RequestParsing.VllmHttp)))
        .UseFactory(BuiltInPlugins.DestinationEndpointServedVerifier, static (name, _, _) => PluginResult.Success(new DestinationEndpointServedVerifier(name)))
        .UseFactory(BuiltInPlugins.RequestAttributeReporter, CreateReporter);

    private static PluginResult CreateReporter(string name, JsonElement parameters, IPluginHandle handle)
    {
        var errors = new ValidationErrors();
        if (!BuiltInParameterBinders.RequestAttributeReporter.TryBind(parameters, "parameters", errors, out var bound) || bound is null)
        {
            return PluginResult.Failure(string.Join("; ", errors.Errors.Select(e => $"{e.Path}: {e.Message}")));
        }

        var attribute = bound.Attributes[0];
        if (!UsageExpression.TryParse(attribute.Expression, out var expression, out var error))
        {
            return PluginResult.Failure($"parameters.attributes[0].expression: {error}");
        }

        UsageExpression? condition = null;
        if (!string.IsNullOrWhiteSpace(attribute.Condition) && !UsageExpression.TryParse(attribute.Condition, out condition, out error))
        {
            return PluginResult.Failure($"parameters.attributes[0].condition: {error}");
        }

        var ns = string.IsNullOrEmpty(attribute.Key!.Namespace) ? RequestAttributeReporterParameters.DefaultNamespace : attribute.Key.Namespace;
        return PluginResult.Success(new RequestAttributeReporter(name, ns, attribute.Key.Name!, expression!, condition));
    }
}
