using Runtime.FlowControl.Plugins;
using Runtime.FlowControl.Policies;

namespace Runtime.ReplicaState;

/// <summary>
/// The per-fairness-flow usage a replica shares: the attained service of its usage-keyed fairness
/// policies (<c>program-aware-fairness</c>), published as a full snapshot when it changed, and the
/// others' snapshots applied into each policy's remote layer.
/// </summary>
internal sealed class SharedFlowUsage
{
    /// <summary>Flows with less service than this (weighted tokens) are not worth a byte: they are left out.</summary>
    internal const double MinSharedService = 1;

    /// <summary>Largest flows shared per policy (a snapshot stays a few tens of KB at most).</summary>
    internal const int MaxFlowsPerPolicy = 2048;

    /// <summary>A flow's service moving by less than this fraction alone does not trigger a new snapshot.</summary>
    private const double ChangeThreshold = 0.01;

    private readonly List<(string Name, ProgramAwareFairnessPolicy Policy)> _policies = [];
    private readonly RemoteFlowUsages _remote;
    private readonly long _refreshMs;
    private readonly List<FlowUsage> _scratch = [];
    private Dictionary<(string, string), double> _last = [];
    private long _lastAtMs;

    public SharedFlowUsage(IEnumerable<(string Name, ProgramAwareFairnessPolicy Policy)> policies, TimeSpan ttl)
    {
        _remote = new RemoteFlowUsages(ttl);
        _refreshMs = (long)ttl.TotalMilliseconds / 3;
        foreach (var (name, policy) in policies)
        {
            if (_policies.Exists(p => p.Name == name || ReferenceEquals(p.Policy, policy)))
            {
                continue;
            }

            _policies.Add((name, policy));
            policy.Remote = _remote.LayerFor(name);
        }
    }

    public IReadOnlyList<string> Names => [.. _policies.Select(p => p.Name)];

    public bool IsEmpty => _policies.Count == 0;

    /// <summary>Flows with usage from other replicas (read by the metrics collector: the layers only swap dictionaries).</summary>
    public int RemoteFlows => _remote.Flows;

    /// <summary>Whether the last snapshot published held any flow (a graceful stop then withdraws it).</summary>
    public bool PublishedAny => _last.Count > 0;

    /// <summary>This replica's usage, or null when the last published snapshot still stands.</summary>
    public List<FlowUsageEntry>? SnapshotIfChanged(long nowMs, bool force)
    {
        if (_policies.Count == 0)
        {
            return null;
        }

        var usage = new List<FlowUsageEntry>();
        foreach (var (name, policy) in _policies)
        {
            _scratch.Clear();
            policy.CopyLocalUsage(_scratch, MinSharedService, MaxFlowsPerPolicy);
            foreach (var flow in _scratch)
            {
                usage.Add(new FlowUsageEntry(name, flow.FairnessId, flow.Service));
            }
        }

        var refresh = usage.Count > 0 && nowMs - _lastAtMs >= _refreshMs;
        return force || refresh || Changed(usage) ? usage : null;
    }

    /// <summary>The snapshot reached Redis: later ones are judged against it.</summary>
    public void Published(List<FlowUsageEntry> usage, long nowMs)
    {
        _last = usage.ToDictionary(u => (u.Policy, u.FairnessId), u => u.Service);
        _lastAtMs = nowMs;
    }

    public void Report(string replica, long atMs, List<FlowUsageEntry> usage) => _remote.Report(replica, atMs, usage);

    public void Apply(long nowMs) => _remote.Apply(nowMs);

    /// <summary>On shutdown: the policies go back to local usage only.</summary>
    public void Detach()
    {
        _remote.Clear();
        foreach (var (_, policy) in _policies)
        {
            policy.Remote = null;
        }
    }

    private bool Changed(List<FlowUsageEntry> usage)
    {
        if (usage.Count != _last.Count)
        {
            return true;
        }

        foreach (var entry in usage)
        {
            if (!_last.TryGetValue((entry.Policy, entry.FairnessId), out var last) || Math.Abs(entry.Service - last) > ChangeThreshold * Math.Max(last, MinSharedService))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The usage-keyed fairness policies of a plugin graph, by plugin name.</summary>
    public static IEnumerable<(string Name, ProgramAwareFairnessPolicy Policy)> Of(IEnumerable<object> plugins)
    {
        foreach (var plugin in plugins)
        {
            if (plugin is FlowControlPolicyPlugin { Policy: ProgramAwareFairnessPolicy policy } declared)
            {
                yield return (declared.Name, policy);
            }
        }
    }
}
