using System.Diagnostics.CodeAnalysis;
using Runtime.Fuzz.Targets;

namespace Runtime.Fuzz;

/// <summary>
/// One entry per parser that sees outside bytes. A target returns normally for any input the
/// parser handles as documented (including a clean rejection) and throws for anything else: an
/// undocumented exception escaping the parser, or a broken invariant (<see cref="FuzzAssert"/>).
/// </summary>
internal static class FuzzTargets
{
    private static readonly Dictionary<string, Action<byte[]>> s_targets = new(StringComparer.Ordinal)
    {
        ["extproc-codec"] = ExtProcCodecTarget.Run,
        ["grpc-frame"] = GrpcFrameTarget.Run,
        ["json-scanner"] = JsonScannerTarget.Run,
        ["json-rewriter"] = JsonRewriterTarget.Run,
        ["sse"] = SseTarget.Run,
        ["prometheus"] = PrometheusTarget.Run,
        ["config-yaml"] = ConfigYamlTarget.Run,
        ["manifests"] = ManifestsTarget.Run,
        ["kube-watch"] = KubeWatchTarget.Run,
        ["endpoint-list"] = EndpointListTarget.Run,
    };

    public static IEnumerable<string> Names => s_targets.Keys.Order(StringComparer.Ordinal);

    public static bool TryGet(string name, [NotNullWhen(true)] out Action<byte[]>? target) => s_targets.TryGetValue(name, out target);
}

/// <summary>A broken invariant: afl-fuzz records the input as a crash, the replay test fails.</summary>
internal sealed class FuzzInvariantException(string message) : Exception(message);

internal static class FuzzAssert
{
    public static void True([DoesNotReturnIf(false)] bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(what);
        }
    }
}
