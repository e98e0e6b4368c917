using Runtime.ExtProc.Buffers;
using Runtime.ExtProc.Codec;

namespace Runtime.ExtProc.Stream;

/// <summary>How streams behave when Envoy does not say (no <c>protocol_config</c>).</summary>
internal sealed record ExtProcOptions
{
    /// <summary>GIE deploys FULL_DUPLEX_STREAMED in both directions.</summary>
    public BodySendMode DefaultRequestBodyMode { get; init; } = BodySendMode.FullDuplexStreamed;

    public BodySendMode DefaultResponseBodyMode { get; init; } = BodySendMode.FullDuplexStreamed;

    /// <summary>
    /// Largest body piece we put in one <c>streamed_response</c>. Envoy caps a piece at 64 KiB;
    /// GIE uses 62,000 B, leaving room for the message around it.
    /// </summary>
    public int StreamedChunkSize { get; init; } = 62_000;

    /// <summary>A <c>gateway.request</c> span per sampled request; null: no tracing (<c>--tracing=false</c>).</summary>
    public ExtProcTracing? Tracing { get; init; }

    /// <summary>The process's ceiling on accumulated body bytes (<c>--max-buffered-body-bytes</c>).</summary>
    public BodyBufferBudget BodyBudget { get; init; } = BodyBufferBudget.Unlimited;

    /// <summary>llm-d's ext_proc stream metrics (<c>--enable-grpc-stream-metrics</c>); null: not recorded.</summary>
    public ExtProcStreamMetrics? StreamMetrics { get; init; }
}
