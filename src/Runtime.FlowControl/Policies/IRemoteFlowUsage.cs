namespace Runtime.FlowControl.Policies;

/// <summary>
/// Per-flow usage the pool's other replicas attained (active-active replicas, <c>--replica-state</c>):
/// a fairness policy that keys on usage adds it to its own before it chooses. Set on the policy
/// (<see cref="ProgramAwareFairnessPolicy.Remote"/>) by the replica-state sync; null when not shared.
/// </summary>
/// <remarks>Called by the dispatcher under the policy's lock: it must answer from memory, never wait.</remarks>
internal interface IRemoteFlowUsage
{
    /// <summary>Weighted tokens the other replicas' requests of <paramref name="fairnessId"/> consumed (each replica's own decayed figure); 0 when none.</summary>
    double ServiceOf(string fairnessId);
}

/// <summary>One flow's attained service as one replica's policy holds it (what it shares with the others).</summary>
internal readonly record struct FlowUsage(string FairnessId, double Service);
