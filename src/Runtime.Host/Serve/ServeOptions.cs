using System.Net;
using Runtime.ExtProc.Codec;
using Runtime.Transport.Grpc;

namespace Runtime.Host.Serve;

/// <summary>Everything <c>runtime serve</c> needs, bound from flags (names match the Go endpoint picker).</summary>
internal sealed record ServeOptions
{
    public int GrpcPort { get; init; } = 9002;
    public int GrpcHealthPort { get; init; } = 9003;
    public int MetricsPort { get; init; } = 9090;
    public bool SecureServing { get; init; } = true;
    public string? CertPath { get; init; }

    /// <summary>Null = every interface (IPv6 dual-stack where available), as the Go binary binds ":port".</summary>
    public IPAddress? BindAddress { get; init; }

    public int Verbosity { get; init; } = 1;
    public BodySendMode DefaultRequestBodyMode { get; init; } = BodySendMode.FullDuplexStreamed;
    public BodySendMode DefaultResponseBodyMode { get; init; } = BodySendMode.FullDuplexStreamed;
    public GrpcServerOptions Grpc { get; init; } = new();

    /// <summary>EndpointPickerConfig file (<c>--config-file</c>); neither this nor <see cref="ConfigText"/> → the default configuration.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>EndpointPickerConfig as text (<c>--config-text</c>); wins over <see cref="ConfigFile"/>, as in the Go binary.</summary>
    public string? ConfigText { get; init; }

    /// <summary>Go endpoint picker flags this build accepts for compatibility but does not act on yet.</summary>
    public IReadOnlyList<string> AcceptedButUnused { get; init; } = [];
}
