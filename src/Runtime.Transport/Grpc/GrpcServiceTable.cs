using System.Collections.Frozen;

namespace Runtime.Transport.Grpc;

/// <summary>The methods one listener serves, by HTTP/2 <c>:path</c> (<c>/package.Service/Method</c>).</summary>
public sealed class GrpcServiceTable
{
    private readonly FrozenDictionary<string, GrpcMethodHandler> _methods;

    public GrpcServiceTable(string name, IEnumerable<KeyValuePair<string, GrpcMethodHandler>> methods)
    {
        Name = name;
        _methods = methods.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Listener name for logs (e.g. "ext_proc", "health").</summary>
    public string Name { get; }

    public bool TryGetHandler(string path, out GrpcMethodHandler handler) =>
        _methods.TryGetValue(path, out handler!);
}
