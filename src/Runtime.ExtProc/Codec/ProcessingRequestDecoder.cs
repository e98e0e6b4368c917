using System.Buffers;

namespace Runtime.ExtProc.Codec;

/// <summary>Decodes <c>envoy.service.ext_proc.v3.ProcessingRequest</c> without materialising messages.</summary>
/// <remarks>
/// Headers and trailers are copied into <see cref="ExtProcRequest.Headers"/> (pooled, reused);
/// bodies and <c>metadata_context</c> are zero-copy slices of <c>message</c>; <c>attributes</c>
/// and unknown fields are skipped. Benchmarks: perf/Runtime.Benchmarks/ExtProc/ExtProcCodecBenchmark.cs.
/// </remarks>
internal static class ProcessingRequestDecoder
{
    /// <summary>
    /// Decodes <paramref name="message"/> (one gRPC message payload) into <paramref name="into"/>
    /// (which is reset first). Returns false with a constant, non-allocated reason on malformed input.
    /// </summary>
    /// <remarks>On failure <paramref name="into"/> is left reset, never half-filled.</remarks>
    public static bool TryDecode(in ReadOnlySequence<byte> message, ExtProcRequest into, out string? error)
    {
        ArgumentNullException.ThrowIfNull(into);
        into.Reset();

        bool ok;
        if (message.IsSingleSegment)
        {
            var reader = new SpanProtoReader(message.FirstSpan, message);
            ok = RequestParser.TryParseRequest(ref reader, into);
            error = reader.Error;
        }
        else
        {
            var reader = new SequenceProtoReader(message);
            ok = RequestParser.TryParseRequest(ref reader, into);
            error = reader.Error;
        }

        if (!ok)
        {
            into.Reset();
            return false;
        }

        error = null;
        return true;
    }
}
