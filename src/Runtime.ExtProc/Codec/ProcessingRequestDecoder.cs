using System.Buffers;

namespace Runtime.ExtProc.Codec;

/// <summary>Decodes <c>envoy.service.ext_proc.v3.ProcessingRequest</c> without materialising messages.</summary>
public static class ProcessingRequestDecoder
{
    /// <summary>
    /// Decodes <paramref name="message"/> (one gRPC message payload) into <paramref name="into"/>
    /// (which is reset first). Returns false with a constant, non-allocated reason on malformed input.
    /// </summary>
    public static bool TryDecode(in ReadOnlySequence<byte> message, ExtProcRequest into, out string? error) => throw new NotImplementedException();
}
