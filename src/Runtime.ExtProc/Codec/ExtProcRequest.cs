using System.Buffers;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// One decoded <c>ProcessingRequest</c>, reused for every message of a stream. Header and
/// trailer maps are copied into pooled storage; <see cref="Body"/> and
/// <see cref="MetadataContext"/> are slices of the received frame and are valid only until
/// the next message is read.
/// </summary>
public sealed class ExtProcRequest
{
    public ProcessingRequestKind Kind { get; internal set; }
    /// <summary>Headers (for *Headers kinds) or trailers (for *Trailers kinds).</summary>
    public HeaderList Headers { get; } = new();
    public ReadOnlySequence<byte> Body { get; internal set; }
    /// <summary><c>HttpHeaders.end_of_stream</c> or <c>HttpBody.end_of_stream</c>.</summary>
    public bool EndOfStream { get; internal set; }
    public bool HasProtocolConfig { get; internal set; }
    public BodySendMode RequestBodyMode { get; internal set; }
    public BodySendMode ResponseBodyMode { get; internal set; }
    public bool SendBodyWithoutWaitingForHeaderResponse { get; internal set; }
    public bool ObservabilityMode { get; internal set; }
    public bool HasMetadataContext { get; internal set; }
    /// <summary>Raw bytes of the <c>envoy.config.core.v3.Metadata</c> message (empty when absent).</summary>
    public ReadOnlySequence<byte> MetadataContext { get; internal set; }

    /// <summary>Clears every field; keeps pooled storage for the next message.</summary>
    public void Reset() => throw new NotImplementedException();
    /// <summary>Returns pooled storage; the instance may be reused afterwards.</summary>
    public void Release() => throw new NotImplementedException();
}
