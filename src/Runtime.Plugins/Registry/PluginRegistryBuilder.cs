using System.Text.RegularExpressions;
using Runtime.Plugins.Lifecycle;

namespace Runtime.Plugins.Registry;

/// <summary>
/// Collects registrations, feature gates, tombstones and factories, then checks them all at once.
/// A bad registration is reported and left out; it never throws, so one broken plugin cannot
/// crash the process at startup (the Go project panics instead).
/// </summary>
public sealed partial class PluginRegistryBuilder
{
    private readonly List<FeatureGate> _gates = [];
    private readonly List<PluginRegistration> _registrations = [];
    private readonly List<PluginTombstone> _tombstones = [];
    private readonly List<(string TypeName, PluginFactory Factory)> _factories = [];

    public PluginRegistryBuilder AddFeatureGate(FeatureGate gate)
    {
        _gates.Add(gate);
        return this;
    }

    public PluginRegistryBuilder Register(PluginRegistration registration)
    {
        _registrations.Add(registration);
        return this;
    }

    public PluginRegistryBuilder AddTombstone(PluginTombstone tombstone)
    {
        _tombstones.Add(tombstone);
        return this;
    }

    /// <summary>Supplies the implementation of a type registered elsewhere (the catalog declares, the implementing project builds).</summary>
    public PluginRegistryBuilder UseFactory(string typeName, PluginFactory factory)
    {
        _factories.Add((typeName, factory));
        return this;
    }

    public PluginRegistryBuildResult Build()
    {
        var errors = new List<RegistrationError>();
        var gates = ValidGates(errors);
        var gatesByName = gates.ToDictionary(g => g.Name, StringComparer.Ordinal);

        // Every copy of a duplicated type is left out: which one would win is an accident of ordering.
        var named = _registrations.Where(r => r?.TypeName is { Length: > 0 }).ToArray();
        var registeredNames = named.Select(r => r.TypeName).ToHashSet(StringComparer.Ordinal);
        var duplicated = named.GroupBy(r => r.TypeName, StringComparer.Ordinal).Where(g => g.Count() > 1).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var (typeName, count) in duplicated)
        {
            errors.Add(new RegistrationError(Subject(typeName), $"registered {count} times"));
        }

        var accepted = new List<PluginRegistration>();
        foreach (var registration in _registrations)
        {
            if (registration is null)
            {
                errors.Add(new RegistrationError("(null)", "registration is null"));
                continue;
            }

            var before = errors.Count;
            CheckRegistration(registration, gatesByName, errors);
            if (errors.Count == before && !duplicated.ContainsKey(registration.TypeName))
            {
                accepted.Add(registration);
            }
        }

        accepted = CheckReplacements(accepted, errors);
        accepted = ApplyFactories(accepted, errors);
        var tombstones = ValidTombstones(accepted, registeredNames, errors);
        return new PluginRegistryBuildResult(new PluginRegistry(accepted, tombstones, gates), errors);
    }

    private List<FeatureGate> ValidGates(List<RegistrationError> errors)
    {
        var valid = new List<FeatureGate>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var gate in _gates)
        {
            var subject = $"feature gate \"{gate.Name}\"";
            if (!GateNamePattern().IsMatch(gate.Name ?? string.Empty))
            {
                errors.Add(new RegistrationError(subject, "name must be a lowerCamelCase word (letters and digits)"));
            }
            else if (!names.Add(gate.Name!))
            {
                errors.Add(new RegistrationError(subject, "registered more than once"));
            }
            else if (gate.Stability == StabilityLevel.Deprecated)
            {
                errors.Add(new RegistrationError(subject, "a feature gate is Alpha, Beta or Stable; deprecate the plugin types it gates instead"));
            }
            else
            {
                valid.Add(gate);
            }
        }

        return valid;
    }

    private static void CheckRegistration(PluginRegistration r, Dictionary<string, FeatureGate> gates, List<RegistrationError> errors)
    {
        var subject = Subject(r.TypeName);
        if (!TypeNamePattern().IsMatch(r.TypeName ?? string.Empty))
        {
            errors.Add(new RegistrationError(subject, "type name must be lower-case words joined by dashes, e.g. \"queue-scorer\""));
        }

        if (r.Kinds == PluginKinds.None)
        {
            errors.Add(new RegistrationError(subject, "declares no plugin kind"));
        }

        if (r.Parameters is null)
        {
            errors.Add(new RegistrationError(subject, "has no parameter binder (use PluginParameterBinders.None for types without parameters)"));
        }

        if (!Enum.IsDefined(r.Stability))
        {
            errors.Add(new RegistrationError(subject, "stability must be Alpha, Beta, Stable or Deprecated"));
            return;
        }

        FeatureGate? gate = null;
        if (r.FeatureGate is not null && !gates.TryGetValue(r.FeatureGate, out gate))
        {
            errors.Add(new RegistrationError(subject, $"names feature gate \"{r.FeatureGate}\", which is not registered"));
        }

        switch (r.Stability)
        {
            // An Alpha type needs --allow-experimental-plugins; a gate is optional, and then off by default.
            case StabilityLevel.Alpha when gate is { EnabledByDefault: true }:
                errors.Add(new RegistrationError(subject, $"an Alpha plugin type needs an Alpha gate, but \"{gate.Name}\" is {gate.Stability} and on by default"));
                break;
            case StabilityLevel.Stable when r.FeatureGate is not null:
                errors.Add(new RegistrationError(subject, "a Stable plugin type is always on and cannot name a feature gate"));
                break;
            case StabilityLevel.Deprecated when r.Deprecation is null || string.IsNullOrWhiteSpace(r.Deprecation.Message):
                errors.Add(new RegistrationError(subject, "a Deprecated plugin type must carry a deprecation message"));
                break;
            case StabilityLevel.Deprecated when r.Deprecation.Replacements is not { Count: > 0 }:
                errors.Add(new RegistrationError(subject, "a Deprecated plugin type must name its replacement"));
                break;
        }

        if (r.Stability != StabilityLevel.Deprecated && r.Deprecation is not null)
        {
            errors.Add(new RegistrationError(subject, $"carries a deprecation but its stability is {r.Stability}; declare it Deprecated"));
        }
    }

    /// <summary>A deprecated type must point at a live, non-deprecated type, or the guidance leads nowhere.</summary>
    private static List<PluginRegistration> CheckReplacements(List<PluginRegistration> accepted, List<RegistrationError> errors)
    {
        var live = accepted.Where(r => r.Stability != StabilityLevel.Deprecated).Select(r => r.TypeName).ToHashSet(StringComparer.Ordinal);
        var result = new List<PluginRegistration>(accepted.Count);
        foreach (var registration in accepted)
        {
            var missing = registration.Deprecation?.Replacements.Where(t => !live.Contains(t)).ToArray() ?? [];
            foreach (var replacement in missing)
            {
                errors.Add(new RegistrationError(Subject(registration.TypeName), $"names replacement \"{replacement}\", which is not a registered, non-deprecated plugin type"));
            }

            if (missing.Length == 0)
            {
                result.Add(registration);
            }
        }

        return result;
    }

    private List<PluginRegistration> ApplyFactories(List<PluginRegistration> accepted, List<RegistrationError> errors)
    {
        var byType = accepted.ToDictionary(r => r.TypeName, StringComparer.Ordinal);
        foreach (var (typeName, factory) in _factories)
        {
            if (factory is null)
            {
                errors.Add(new RegistrationError(Subject(typeName), "factory is null"));
            }
            else if (!byType.TryGetValue(typeName ?? string.Empty, out var registration))
            {
                errors.Add(new RegistrationError(Subject(typeName), "a factory was supplied for a type that is not registered"));
            }
            else if (registration.Factory is not null)
            {
                errors.Add(new RegistrationError(Subject(typeName), "more than one factory was supplied"));
            }
            else
            {
                byType[typeName!] = registration with { Factory = factory };
            }
        }

        return accepted.Select(r => byType[r.TypeName]).ToList();
    }

    private List<PluginTombstone> ValidTombstones(List<PluginRegistration> accepted, HashSet<string> registeredNames, List<RegistrationError> errors)
    {
        var live = accepted.Select(r => r.TypeName).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var valid = new List<PluginTombstone>();
        foreach (var tombstone in _tombstones)
        {
            var subject = $"tombstone \"{tombstone.TypeName}\"";
            var before = errors.Count;
            if (!TypeNamePattern().IsMatch(tombstone.TypeName ?? string.Empty))
            {
                errors.Add(new RegistrationError(subject, "type name must be lower-case words joined by dashes"));
            }
            else if (registeredNames.Contains(tombstone.TypeName!))
            {
                errors.Add(new RegistrationError(subject, "the type is also registered; a removed type cannot be live"));
            }
            else if (!seen.Add(tombstone.TypeName!))
            {
                errors.Add(new RegistrationError(subject, "declared more than once"));
            }

            if (string.IsNullOrWhiteSpace(tombstone.Guidance) || string.IsNullOrWhiteSpace(tombstone.RemovedIn))
            {
                errors.Add(new RegistrationError(subject, "must say where the type was removed and how to migrate"));
            }

            foreach (var replacement in tombstone.Replacements ?? [])
            {
                if (!live.Contains(replacement))
                {
                    errors.Add(new RegistrationError(subject, $"names replacement \"{replacement}\", which is not a registered plugin type"));
                }
            }

            if (errors.Count == before)
            {
                valid.Add(tombstone);
            }
        }

        return valid;
    }

    private static string Subject(string? typeName) => $"plugin type \"{typeName}\"";

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex TypeNamePattern();

    [GeneratedRegex("^[a-z][A-Za-z0-9]*$")]
    private static partial Regex GateNamePattern();
}

/// <summary>The registry of every valid registration, and every problem with the others.</summary>
public sealed record PluginRegistryBuildResult(PluginRegistry Registry, IReadOnlyList<RegistrationError> Errors)
{
    public bool IsValid => Errors.Count == 0;
}
