namespace Runtime.FlowControl.Policies;

/// <summary>A usage-limit policy whose limit depends on the band's rank among the bands and on the current saturation.</summary>
internal interface IRankedUsageLimitPolicy
{
    /// <summary>The ceiling of the band ranked <paramref name="rank"/> (0 = highest priority) of <paramref name="bandCount"/> at <paramref name="saturation"/>; the band dispatches while saturation is below it.</summary>
    double GetLimit(int rank, int bandCount, double saturation);
}

/// <summary>
/// llm-d v0.10's <c>soft-reflective-ceiling-policy</c> (Alpha): the highest band is never gated (ceiling 1);
/// band i of N gets the reflective ceiling <c>1 - i·saturation/(N-1)</c>. Once saturation reaches a lower
/// band's ceiling (and is below 1) that band is open on one of every <c>round(s/(1-s))</c> gate checks — a
/// duty cycle driven by one policy-wide tick, so all gated bands open together — and closed at saturation 1.
/// Lower-priority bands are thus gated first and progressively as saturation rises; gated requests stay queued.
/// </summary>
internal sealed class SoftReflectiveCeilingPolicy : IUsageLimitPolicy, IRankedUsageLimitPolicy
{
    private long _tick;

    public string TypeName => "soft-reflective-ceiling-policy";

    /// <summary>Without rank information (a single band) the ceiling is 1.</summary>
    public double GetLimit(int priority) => 1.0;

    public double GetLimit(int rank, int bandCount, double saturation)
    {
        if (bandCount <= 1 || rank <= 0)
        {
            return 1.0;
        }

        var reflective = 1.0 - rank * saturation / (bandCount - 1);
        if (saturation < reflective)
        {
            return 1.0;
        }

        if (saturation >= 1.0)
        {
            return 0.0;
        }

        // 1e-9 guards the division near saturation 1 (as llm-d).
        var period = (long)Math.Max(1, Math.Round(saturation / (1.0 - saturation + 1e-9)));
        return Interlocked.Increment(ref _tick) % period == 0 ? 1.0 : 0.0;
    }
}
