using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Kubernetes;

/// <summary>Log lines of the Kubernetes source (event ids 5100–5199).</summary>
internal static partial class KubernetesLog
{
    [LoggerMessage(5101, LogLevel.Information, "Listed {Count} {Kind} objects in {Pages} pages at resourceVersion {ResourceVersion}")]
    public static partial void Listed(ILogger logger, int count, ResourceKind kind, int pages, string resourceVersion);

    [LoggerMessage(5102, LogLevel.Debug, "Watching {Kind} from resourceVersion {ResourceVersion}")]
    public static partial void Watching(ILogger logger, ResourceKind kind, string resourceVersion);

    [LoggerMessage(5103, LogLevel.Debug, "The {Kind} watch closed at resourceVersion {ResourceVersion} after {Events} events; watching again")]
    public static partial void WatchClosed(ILogger logger, ResourceKind kind, string resourceVersion, int events);

    [LoggerMessage(5104, LogLevel.Information, "The {Kind} watch expired (410 Gone) at resourceVersion {ResourceVersion}; listing again")]
    public static partial void WatchGone(ILogger logger, ResourceKind kind, string resourceVersion);

    /// <summary>Warning the first time an error is seen; the same error again (each retry) at Trace, so an unreachable API server is logged once.</summary>
    [LoggerMessage(EventId = 5105, Message = "Syncing {Kind} failed; retrying in {Delay}: {Error}")]
    public static partial void SyncFailed(ILogger logger, LogLevel level, ResourceKind kind, TimeSpan delay, string error);

    [LoggerMessage(5106, LogLevel.Warning, "Skipped a malformed {Kind} object: {Error}")]
    public static partial void SkippedObject(ILogger logger, ResourceKind kind, string error);

    [LoggerMessage(5108, LogLevel.Information, "{Kind} is not served by this cluster ({Path} answered 404 Not Found); treating it as empty and looking again at each relist")]
    public static partial void NotInstalled(ILogger logger, string kind, string path);

    [LoggerMessage(5109, LogLevel.Warning, "The API server refuses to list {Kind} (403 Forbidden): serving without it, checking again at each relist. Grant list/watch on it to use it. {Error}")]
    public static partial void KindForbidden(ILogger logger, string kind, string error);

    [LoggerMessage(5107, LogLevel.Debug, "{Kind} watch event {Type} for {Namespace}/{Name} at resourceVersion {ResourceVersion}")]
    public static partial void Event(ILogger logger, ResourceKind kind, string type, string @namespace, string name, string resourceVersion);
}
