namespace Runtime.Scheduling.Framework;

internal static class ScoreMath
{
    /// <summary>clamp(score, 0, 1) with NaN → 0 (Math.Clamp lets NaN through, and one NaN would poison every total).</summary>
    public static double Clamp01(double score) => score > 0 ? (score < 1 ? score : 1) : 0;
}
