namespace Runtime.FlowControl.Policies;

/// <summary>
/// How saturated the pool may be before a band stops dispatching: a band dispatches while
/// <see cref="Runtime.Plugins.Saturation.ISaturationDetector.GetSaturation"/> is below the band's limit.
/// </summary>
public interface IUsageLimitPolicy
{
    string TypeName { get; }

    double GetLimit(int priority);
}

/// <summary><c>static-usage-limit-policy</c>: the same threshold (default 1.0) for every band.</summary>
public sealed class StaticUsageLimitPolicy(double threshold = 1.0) : IUsageLimitPolicy
{
    public static readonly StaticUsageLimitPolicy Default = new();

    public double Threshold { get; } = threshold;

    public string TypeName => FlowControlPolicyTypes.StaticUsageLimit;

    public double GetLimit(int priority) => Threshold;
}
