namespace Runtime.FlowControl.Policies;

/// <summary>Plugin type names of the flow-control policies (SPEC §3), for the plugin registry and config refs.</summary>
public static class FlowControlPolicyTypes
{
    public const string FcfsOrdering = "fcfs-ordering-policy";
    public const string EdfOrdering = "edf-ordering-policy";
    public const string GlobalStrictFairness = "global-strict-fairness-policy";
    public const string RoundRobinFairness = "round-robin-fairness-policy";
    public const string StaticUsageLimit = "static-usage-limit-policy";
}
