namespace Runtime.Scheduling.Framework;

/// <summary>
/// A per-thread SplitMix64 generator for tie-breaks and random picks: no lock, no allocation, a few ns
/// per draw. Not cryptographic; spreading load needs only uniformity.
/// </summary>
internal static class FastRandom
{
    [ThreadStatic]
    private static ulong t_state;

    public static ulong NextUInt64()
    {
        var state = t_state;
        if (state == 0)
        {
            state = (ulong)Random.Shared.NextInt64() | 1;
        }

        state += 0x9E3779B97F4A7C15UL;
        t_state = state;
        var z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, <paramref name="bound"/>) (Lemire's multiply-shift; bias below 2^-32).</summary>
    public static int Next(int bound) => (int)(((NextUInt64() >> 32) * (ulong)(uint)bound) >> 32);

    /// <summary>Uniform in [0, 1).</summary>
    public static double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
