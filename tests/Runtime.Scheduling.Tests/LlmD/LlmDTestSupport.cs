using System.Text;
using System.Text.Json;
using Runtime.Endpoints;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Validation;

namespace Runtime.Scheduling.Tests.LlmD;

/// <summary>Request headers from a dictionary (names lower-case, as the request path gives them).</summary>
internal sealed class TestHeaders(Dictionary<string, string> values) : IRequestHeaders
{
    public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (values.TryGetValue(Encoding.ASCII.GetString(name), out var text))
        {
            value = Encoding.UTF8.GetBytes(text);
            return true;
        }

        value = default;
        return false;
    }
}

internal static class LlmDTestSupport
{
    public static T Bind<T>(PluginParameterBinder<T> binder, string json)
        where T : class
    {
        var errors = new ValidationErrors();
        Assert.True(binder.TryBind(JsonDocument.Parse(json).RootElement, "parameters", errors, out var value), string.Join("; ", errors.Errors.Select(e => e.Message)));
        return value!;
    }

    /// <summary>The error messages binding <paramref name="json"/> reports (path: message).</summary>
    public static string[] Errors<T>(PluginParameterBinder<T> binder, string json)
        where T : class
    {
        var errors = new ValidationErrors();
        binder.TryBind(JsonDocument.Parse(json).RootElement, "parameters", errors, out _);
        return [.. errors.Errors.Select(e => $"{e.Path}: {e.Message}")];
    }

    public static string[] Warnings<T>(PluginParameterBinder<T> binder, string json)
        where T : class
    {
        var errors = new ValidationErrors();
        binder.TryBind(JsonDocument.Parse(json).RootElement, "parameters", errors, out _);
        return [.. errors.Warnings.Select(e => $"{e.Path}: {e.Message}")];
    }

    public static string Token(string name) => Convert.ToBase64String(Encoding.UTF8.GetBytes(name));

    public static EndpointState Labelled(int i, params (string Key, string Value)[] labels) =>
        new(new Endpoint($"pod-{i:D3}", $"10.0.0.{i + 1}", 8000, labels.ToDictionary(l => l.Key, l => l.Value)));
}
