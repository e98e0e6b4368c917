using System.Buffers;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// One decoded <c>ProcessingRequest</c>, reused for every message of a stream. Header and
/// trailer maps are copied into pooled storage; <see cref="Body"/> and
/// <see cref="MetadataContext"/> are slices of the received frame and are valid only until
/// the next message is read.
/// </summary>
internal sealed class ExtProcRequest
{
    // Only used when metadata_context occurs more than once in one message: protobuf merges the
    // occurrences, which for raw bytes means concatenating them, and that needs a copy.
    private byte[] _metadataScratch = [];
    private int _metadataScratchUsed;
    private bool _metadataInScratch;

    public ProcessingRequestKind Kind { get; internal set; }
    /// <summary>Headers (for *Headers kinds) or trailers (for *Trailers kinds).</summary>
    public HeaderList Headers { get; } = new();
    public ReadOnlySequence<byte> Body { get; internal set; }
    /// <summary><c>HttpHeaders.end_of_stream</c> or <c>HttpBody.end_of_stream</c>.</summary>
    public bool EndOfStream { get; internal set; }
    public bool HasProtocolConfig { get; internal set; }
    /// <summary>
    /// <c>protocol_config.request_body_mode</c>. Enums are open in proto3: an unknown value is
    /// kept as is, and one that does not fit a byte reads as 255 (never as a known mode).
    /// </summary>
    public BodySendMode RequestBodyMode { get; internal set; }
    /// <summary><c>protocol_config.response_body_mode</c>; unknown values as for <see cref="RequestBodyMode"/>.</summary>
    public BodySendMode ResponseBodyMode { get; internal set; }
    public bool SendBodyWithoutWaitingForHeaderResponse { get; internal set; }
    public bool ObservabilityMode { get; internal set; }
    public bool HasMetadataContext { get; internal set; }
    /// <summary>Raw bytes of the <c>envoy.config.core.v3.Metadata</c> message (empty when absent).</summary>
    public ReadOnlySequence<byte> MetadataContext { get; internal set; }

    /// <summary>Clears every field; keeps pooled storage for the next message.</summary>
    public void Reset()
    {
        Kind = ProcessingRequestKind.None;
        Headers.Clear();
        Body = default;
        EndOfStream = false;
        HasProtocolConfig = false;
        RequestBodyMode = BodySendMode.None;
        ResponseBodyMode = BodySendMode.None;
        SendBodyWithoutWaitingForHeaderResponse = false;
        ObservabilityMode = false;
        HasMetadataContext = false;
        MetadataContext = default;
        _metadataScratchUsed = 0;
        _metadataInScratch = false;
    }

    /// <summary>Returns pooled storage; the instance may be reused afterwards.</summary>
    public void Release()
    {
        Reset();
        Headers.Release();
        PooledArray.Return(ref _metadataScratch);
    }

    /// <summary>
    /// Starts oneof member <paramref name="kind"/>. A different member replaces the previous one
    /// (protobuf oneof semantics); the same member again is merged into it.
    /// </summary>
    internal void BeginOneof(ProcessingRequestKind kind)
    {
        if (Kind != kind)
        {
            Kind = kind;
            Headers.Clear();
            Body = default;
            EndOfStream = false;
        }
    }

    /// <summary>Records one occurrence of <c>metadata_context</c>, merging with earlier ones.</summary>
    internal void MergeMetadataContext(in ReadOnlySequence<byte> occurrence)
    {
        if (!HasMetadataContext)
        {
            HasMetadataContext = true;
            MetadataContext = occurrence;
            return;
        }

        // Concatenated encodings of a message parse as the merge of both, so appending is exact.
        if (!_metadataInScratch)
        {
            _metadataScratchUsed = 0;
            AppendToScratch(MetadataContext);
            _metadataInScratch = true;
        }

        AppendToScratch(occurrence);
        MetadataContext = new ReadOnlySequence<byte>(_metadataScratch, 0, _metadataScratchUsed);
    }

    private void AppendToScratch(in ReadOnlySequence<byte> bytes)
    {
        // Lengths are bounded by the message being decoded, which the transport caps far below 2 GiB.
        int end = checked(_metadataScratchUsed + (int)bytes.Length);
        PooledArray.EnsureCapacity(ref _metadataScratch, _metadataScratchUsed, end);
        bytes.CopyTo(_metadataScratch.AsSpan(_metadataScratchUsed));
        _metadataScratchUsed = end;
    }
}
