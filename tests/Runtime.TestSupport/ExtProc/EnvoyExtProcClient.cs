using Runtime.TestSupport.Grpc;

namespace Runtime.TestSupport.ExtProc;

/// <summary>
/// An Envoy-like ext_proc client: cleartext HTTP/2 with prior knowledge, every exchange
/// (one downstream HTTP request in Envoy) on its own stream, all streams multiplexed over
/// one connection by default, as an Envoy worker does.
/// </summary>
/// <example>
/// <code>
/// using var client = new EnvoyExtProcClient(new Uri("http://127.0.0.1:9002"));
/// await using var ex = await client.StartAsync(ct);
/// await ex.SendAsync(ExtProcMessages.RequestHeaders(requestBodyMode: BodySendMode.FullDuplexStreamed));
/// var response = await ex.ReadAsync(TimeSpan.FromSeconds(5));
/// await ex.CompleteAsync();
/// var status = await ex.GetStatusAsync();
/// </code>
/// </example>
public sealed class EnvoyExtProcClient : IDisposable
{
    public const string ProcessPath = "/envoy.service.ext_proc.v3.ExternalProcessor/Process";

    private readonly bool _disposeInvoker;

    /// <param name="address">Base address, for example <c>http://127.0.0.1:9002</c>.</param>
    /// <param name="enableMultipleHttp2Connections">Let the handler open more connections when the server's concurrent stream limit is reached.</param>
    public EnvoyExtProcClient(Uri address, bool enableMultipleHttp2Connections = false)
        : this(address, new HttpMessageInvoker(GrpcHttp.CreateHandler(enableMultipleHttp2Connections)), disposeInvoker: true)
    {
    }

    /// <param name="address">Base address of the server.</param>
    /// <param name="invoker">Any HTTP/2 capable invoker, for example one over a TestServer handler.</param>
    /// <param name="disposeInvoker">Whether disposing the client disposes <paramref name="invoker"/>.</param>
    public EnvoyExtProcClient(Uri address, HttpMessageInvoker invoker, bool disposeInvoker = false)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(invoker);
        Address = address;
        Invoker = invoker;
        _disposeInvoker = disposeInvoker;
    }

    public Uri Address { get; }

    public HttpMessageInvoker Invoker { get; }

    /// <summary>Default wait for each response and for the final status.</summary>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Opens a Process stream. Returns before any response headers arrive.</summary>
    public Task<ExtProcExchange> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(headers: null, cancellationToken);

    /// <summary>Opens a Process stream with extra request headers (grpc-timeout, metadata...).</summary>
    public async Task<ExtProcExchange> StartAsync(IEnumerable<KeyValuePair<string, string>>? headers, CancellationToken cancellationToken = default)
    {
        var call = await GrpcDuplexCall.StartAsync(Invoker, new Uri(Address, ProcessPath), headers, cancellationToken: cancellationToken);
        return new ExtProcExchange(call, DefaultTimeout);
    }

    public void Dispose()
    {
        if (_disposeInvoker)
        {
            Invoker.Dispose();
        }
    }
}
