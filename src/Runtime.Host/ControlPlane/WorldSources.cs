using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using Runtime.Host.Serve;

namespace Runtime.Host.ControlPlane;

/// <summary>Picks and builds the world source the flags ask for.</summary>
internal static class WorldSources
{
    public static IWorldSource? TryCreate(ServeOptions options, PoolSelection selection, WorldCache cache, ILoggerFactory loggers, List<string> errors)
    {
        _ = (options, selection, cache, loggers);
        errors.Add("PENDING MERGE");
        return null;
    }
}
