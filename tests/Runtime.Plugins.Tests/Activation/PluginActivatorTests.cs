using System.Text.Json;
using Runtime.Plugins.Activation;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Registry;

namespace Runtime.Plugins.Tests.Activation;

public class PluginActivatorTests
{
    private static PluginRegistration Type(string name, PluginFactory? factory) =>
        new() { TypeName = name, Kinds = PluginKinds.Scorer, Stability = StabilityLevel.Stable, Factory = factory };

    private static PluginInstanceSpec Spec(int index, string name, string type, string? parameters = null) =>
        new(name, type, parameters is null ? default : JsonDocument.Parse(parameters).RootElement, $"plugins[{index}]");

    [Fact]
    public void Activate_FactoriesInOrder_LaterPluginsSeeEarlierOnesAndServices()
    {
        var clock = new FixedClock();
        string? seen = null;
        string? suffix = null;
        var registry = new PluginRegistryBuilder()
            .Register(Type("base", (name, p, _) =>
            {
                suffix = p.GetProperty("suffix").GetString();
                return PluginResult.Success(new TestPlugin("base", name));
            }))
            .Register(Type("dependent", (name, _, handle) =>
            {
                seen = handle.TryGetPlugin("first", out var first) ? first.TypeName : null;
                return handle.GetService<FixedClock>() is { } c && ReferenceEquals(c, clock)
                    ? PluginResult.Success(new TestPlugin("dependent", name))
                    : PluginResult.Failure("no clock");
            }))
            .Build().Registry;

        var activation = PluginActivator.Activate(registry, [Spec(0, "first", "base", """{"suffix": "-x"}"""), Spec(1, "second", "dependent")], new PluginServices().Add(clock));

        Assert.True(activation.IsComplete, string.Join("; ", activation.Errors));
        Assert.Equal(["first", "second"], activation.Plugins.Keys);
        Assert.Equal("base", seen);
        Assert.Equal("-x", suffix);
    }

    [Fact]
    public void Activate_FailuresAndMissingImplementations_CollectedNotThrown()
    {
        var registry = new PluginRegistryBuilder()
            .Register(Type("failing", (_, _, _) => PluginResult.Failure("port out of range")))
            .Register(Type("throwing", (_, _, _) => throw new InvalidOperationException("bug")))
            .Register(Type("declared-only", null))
            .Register(Type("fine", (name, _, _) => PluginResult.Success(new TestPlugin("fine", name))))
            .Register(Type("misnamed", (_, _, _) => PluginResult.Success(new TestPlugin("misnamed", "other"))))
            .Build().Registry;

        var activation = PluginActivator.Activate(
            registry,
            [Spec(0, "a", "failing"), Spec(1, "b", "throwing"), Spec(2, "c", "declared-only"), Spec(3, "d", "fine"), Spec(4, "e", "unregistered"), Spec(5, "f", "misnamed")],
            new PluginServices());

        Assert.Equal(
        [
            "plugins[0]: failed to create plugin \"a\" (type failing): port out of range",
            "plugins[1]: failed to create plugin \"b\" (type throwing): factory threw InvalidOperationException: bug",
            "plugins[4]: plugin type \"unregistered\" is not registered",
            "plugins[5]: failed to create plugin \"f\" (type misnamed): the factory returned a plugin named \"other\" of type \"misnamed\"",
        ], activation.Errors.Select(e => e.ToString()));
        Assert.Equal(["plugins[2]: plugin type \"declared-only\" (a scorer) has no implementation in this build yet"], activation.NotImplemented.Select(e => e.ToString()));
        Assert.Equal(["d"], activation.Plugins.Keys);
        Assert.False(activation.IsComplete);
    }

    private sealed class FixedClock;
}
