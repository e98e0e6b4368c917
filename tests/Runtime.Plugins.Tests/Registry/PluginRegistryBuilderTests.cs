using System.Text.Json;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Registry;

namespace Runtime.Plugins.Tests.Registry;

public class PluginRegistryBuilderTests
{
    private static PluginRegistryBuilder WithGates() => new PluginRegistryBuilder()
        .AddFeatureGate(new FeatureGate("experimental", StabilityLevel.Alpha, "alpha gate"))
        .AddFeatureGate(new FeatureGate("optional", StabilityLevel.Beta, "beta gate"));

    private static PluginRegistration Plugin(string type, StabilityLevel stability = StabilityLevel.Stable, string? gate = null, PluginDeprecation? deprecation = null) =>
        new() { TypeName = type, Kinds = PluginKinds.Scorer, Stability = stability, FeatureGate = gate, Deprecation = deprecation };

    [Fact]
    public void Build_ValidRegistrations_AllAcceptedInOrder()
    {
        var build = WithGates()
            .Register(Plugin("stable-scorer"))
            .Register(Plugin("beta-scorer", StabilityLevel.Beta))
            .Register(Plugin("gated-beta-scorer", StabilityLevel.Beta, "optional"))
            .Register(Plugin("alpha-scorer", StabilityLevel.Alpha, "experimental"))
            .Register(Plugin("alpha-without-gate", StabilityLevel.Alpha))
            .Register(Plugin("old-scorer", StabilityLevel.Deprecated, deprecation: new PluginDeprecation("Renamed.", ["stable-scorer"])))
            .AddTombstone(new PluginTombstone("gone-filter", "v1", "Use scorers.", ["stable-scorer", "beta-scorer"]))
            .Build();

        Assert.True(build.IsValid, string.Join("\n", build.Errors));
        Assert.Equal(["stable-scorer", "beta-scorer", "gated-beta-scorer", "alpha-scorer", "alpha-without-gate", "old-scorer"], build.Registry.Registrations.Select(r => r.TypeName));
        Assert.True(build.Registry.TryGetTombstone("gone-filter", out var tombstone));
        Assert.Equal(["stable-scorer", "beta-scorer"], tombstone.Replacements);
    }

    [Fact]
    public void Build_InvalidRegistrations_EveryProblemReportedTogetherWithoutThrowing()
    {
        var build = WithGates()
            .AddFeatureGate(new FeatureGate("experimental", StabilityLevel.Alpha, "again"))
            .AddFeatureGate(new FeatureGate("Bad-Gate", StabilityLevel.Beta, "bad name"))
            .Register(Plugin("good-scorer"))
            .Register(Plugin("alpha-on-beta-gate", StabilityLevel.Alpha, "optional"))
            .Register(Plugin("stable-with-gate", StabilityLevel.Stable, "optional"))
            .Register(Plugin("unknown-gate", StabilityLevel.Beta, "noSuchGate"))
            .Register(Plugin("deprecated-without-message", StabilityLevel.Deprecated))
            .Register(Plugin("deprecated-without-replacement", StabilityLevel.Deprecated, deprecation: new PluginDeprecation("Going away.", [])))
            .Register(Plugin("deprecated-to-nowhere", StabilityLevel.Deprecated, deprecation: new PluginDeprecation("Renamed.", ["missing-scorer"])))
            .Register(Plugin("beta-with-deprecation", StabilityLevel.Beta, deprecation: new PluginDeprecation("x", ["good-scorer"])))
            .Register(Plugin("twice"))
            .Register(Plugin("twice"))
            .Register(Plugin("Not_Kebab"))
            .Register(new PluginRegistration { TypeName = "no-kind", Kinds = PluginKinds.None, Stability = StabilityLevel.Stable })
            .AddTombstone(new PluginTombstone("good-scorer", "v1", "Clashes with a live type.", []))
            .AddTombstone(new PluginTombstone("removed-filter", "v1", "Use the scorer.", ["missing-scorer"]))
            .UseFactory("no-such-type", (_, _, _) => PluginResult.Failure("unused"))
            .Build();

        Assert.Equal(
        [
            "feature gate \"experimental\": registered more than once",
            "feature gate \"Bad-Gate\": name must be a lowerCamelCase word (letters and digits)",
            "plugin type \"twice\": registered 2 times",
            "plugin type \"alpha-on-beta-gate\": an Alpha plugin type needs an Alpha gate, but \"optional\" is Beta and on by default",
            "plugin type \"stable-with-gate\": a Stable plugin type is always on and cannot name a feature gate",
            "plugin type \"unknown-gate\": names feature gate \"noSuchGate\", which is not registered",
            "plugin type \"deprecated-without-message\": a Deprecated plugin type must carry a deprecation message",
            "plugin type \"deprecated-without-replacement\": a Deprecated plugin type must name its replacement",
            "plugin type \"beta-with-deprecation\": carries a deprecation but its stability is Beta; declare it Deprecated",
            "plugin type \"Not_Kebab\": type name must be lower-case words joined by dashes, e.g. \"queue-scorer\"",
            "plugin type \"no-kind\": declares no plugin kind",
            "plugin type \"deprecated-to-nowhere\": names replacement \"missing-scorer\", which is not a registered, non-deprecated plugin type",
            "plugin type \"no-such-type\": a factory was supplied for a type that is not registered",
            "tombstone \"good-scorer\": the type is also registered; a removed type cannot be live",
            "tombstone \"removed-filter\": names replacement \"missing-scorer\", which is not a registered plugin type",
        ], build.Errors.Select(e => e.ToString()));

        // The valid registration survives; every invalid one (and both copies of a duplicate) is left out.
        Assert.Equal(["good-scorer"], build.Registry.Registrations.Select(r => r.TypeName));
        Assert.Equal(["experimental", "optional"], build.Registry.FeatureGates.Select(g => g.Name));
        Assert.Empty(build.Registry.Tombstones);
    }

    [Fact]
    public void Build_DeprecatedGate_Rejected()
    {
        var build = new PluginRegistryBuilder().AddFeatureGate(new FeatureGate("old", StabilityLevel.Deprecated, "x")).Build();

        Assert.Equal("feature gate \"old\": a feature gate is Alpha, Beta or Stable; deprecate the plugin types it gates instead", Assert.Single(build.Errors).ToString());
    }

    [Fact]
    public void UseFactory_RegisteredType_FactoryAttachedOnceOnly()
    {
        PluginFactory factory = (_, _, _) => PluginResult.Failure("test");
        var build = new PluginRegistryBuilder()
            .Register(Plugin("scorer"))
            .UseFactory("scorer", factory)
            .UseFactory("scorer", factory)
            .Build();

        Assert.Equal("plugin type \"scorer\": more than one factory was supplied", Assert.Single(build.Errors).ToString());
        Assert.True(build.Registry.TryGet("scorer", out var registration));
        Assert.Same(factory, registration.Factory);
    }

    [Fact]
    public void ResolveFeatureGates_DefaultsFollowMaturity_SettingsOverride()
    {
        var registry = WithGates()
            .AddFeatureGate(new FeatureGate("settled", StabilityLevel.Stable, "stable gate"))
            .Build().Registry;

        var defaults = registry.ResolveFeatureGates(new Dictionary<string, bool>());
        Assert.False(defaults.IsEnabled("experimental"));
        Assert.True(defaults.IsEnabled("optional"));
        Assert.True(defaults.IsEnabled("settled"));

        var overridden = registry.ResolveFeatureGates(new Dictionary<string, bool> { ["experimental"] = true, ["optional"] = false, ["settled"] = false });
        Assert.True(overridden.IsEnabled("experimental"));
        Assert.False(overridden.IsEnabled("optional"));
        Assert.True(overridden.IsEnabled("settled"));
        Assert.False(overridden.IsEnabled("unknown"));
    }

    [Fact]
    public void IsEnabled_GatedRegistration_FollowsItsGate()
    {
        var registry = WithGates().Register(Plugin("alpha-scorer", StabilityLevel.Alpha, "experimental")).Build().Registry;
        Assert.True(registry.TryGet("alpha-scorer", out var alpha));

        Assert.False(PluginRegistry.IsEnabled(alpha, registry.ResolveFeatureGates(new Dictionary<string, bool>())));
        Assert.True(PluginRegistry.IsEnabled(alpha, registry.ResolveFeatureGates(new Dictionary<string, bool> { ["experimental"] = true })));
    }

    [Fact]
    public void Build_RegistrationWithoutParameters_DefaultBinderRejectsAnyField()
    {
        var registry = new PluginRegistryBuilder().Register(Plugin("scorer")).Build().Registry;
        Assert.True(registry.TryGet("scorer", out var registration));
        var errors = new Runtime.Plugins.Validation.ValidationErrors();

        registration.Parameters.Validate(JsonDocument.Parse("""{"x": 1}""").RootElement, "plugins[0].parameters", errors);

        Assert.Equal("plugins[0].parameters.x: unknown field \"x\" (this plugin type takes no parameters)", Assert.Single(errors.Errors).ToString());
    }
}
