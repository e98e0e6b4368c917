using Grpc.Core;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Runtime.Transport.Hosting;

/// <summary>
/// The service instances one listener serves (say the picker's ext_proc service on :9002 and
/// the body-based router's on :9004). Grpc.AspNetCore maps one endpoint per method for the
/// whole server; <see cref="KestrelGrpcSetup"/> tags each accepted connection with its
/// listener's set, and a service looks up its instance for the call here. A method whose
/// service is not in the set answers UNIMPLEMENTED, as on a server that does not have it.
/// </summary>
internal sealed class ListenerServices
{
    /// <summary>Key of the set in the connection's items.</summary>
    internal static readonly object ItemKey = new();

    private readonly object[] _services;

    public ListenerServices(params object[] services)
    {
        _services = services;
    }

    public static ListenerServices Empty { get; } = new();

    /// <summary>This listener's instance of <typeparamref name="T"/>, or null.</summary>
    public T? Find<T>()
        where T : class
    {
        foreach (var service in _services)
        {
            if (service is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The call's listener's instance of <typeparamref name="T"/>, or null.</summary>
    public static T? Find<T>(HttpContext context)
        where T : class =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ItemKey, out var value) == true
            ? (value as ListenerServices)?.Find<T>()
            : null;

    /// <summary>The call's listener's instance of <typeparamref name="T"/>; UNIMPLEMENTED when it has none.</summary>
    /// <exception cref="RpcException">This listener does not serve <typeparamref name="T"/>.</exception>
    public static T Require<T>(ServerCallContext context)
        where T : class =>
        Find<T>(context.GetHttpContext()) ?? throw new RpcException(new Status(StatusCode.Unimplemented, "Method is unimplemented."));
}
