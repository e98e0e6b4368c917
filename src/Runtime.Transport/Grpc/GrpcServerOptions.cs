namespace Runtime.Transport.Grpc;

/// <summary>Tuning of the gRPC layer and of Kestrel's HTTP/2 limits for our listeners.</summary>
internal sealed record GrpcServerOptions
{
    /// <summary>
    /// Largest request message accepted. Envoy's gRPC client has no receive limit and a
    /// BUFFERED body arrives in one message, so the default leaves room for multi-MB bodies.
    /// </summary>
    public int MaxReceiveMessageSize { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// Largest reply message sent (<c>--grpc-max-send-msg-size</c>); a bigger one fails its stream
    /// with RESOURCE_EXHAUSTED, as grpc-go does. Null: no limit (Go's default, MaxInt32).
    /// </summary>
    public int? MaxSendMessageSize { get; init; }

    /// <summary>
    /// Concurrent streams per HTTP/2 connection. Envoy multiplexes every ext_proc stream of a
    /// worker over very few connections, so Kestrel's default of 100 would cap a busy gateway.
    /// </summary>
    public int MaxStreamsPerConnection { get; init; } = 100_000;

    /// <summary>HTTP/2 receive window per connection; shared by all its streams.</summary>
    public int InitialConnectionWindowSize { get; init; } = 32 * 1024 * 1024;

    /// <summary>
    /// HTTP/2 receive window per stream: how far a client may send ahead of what the server has read
    /// (grpc-go's initial window too). A message larger than the window still arrives whole (Kestrel
    /// opens the window as a partial message is examined), but a stream's queued Envoy-sized 16 KB
    /// pieces wait in the client: 256 streams × 220 KB held 185–196 MiB of RSS with 1 MiB, 124–129
    /// with 64 KiB, at the same exchanges/s (perf/README).
    /// </summary>
    public int InitialStreamWindowSize { get; init; } = 64 * 1024;

    /// <summary>
    /// Largest HTTP/2 frame the peer may send us (SETTINGS_MAX_FRAME_SIZE). Bigger frames mean
    /// fewer frame headers and reads per body chunk; 16 KiB is the protocol's floor.
    /// </summary>
    public int MaxFrameSize { get; init; } = 64 * 1024;

    /// <summary>How long open streams may run on after SIGTERM before they are cut.</summary>
    public TimeSpan ShutdownGracePeriod { get; init; } = TimeSpan.FromSeconds(25);
}
