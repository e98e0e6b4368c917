using System.Buffers;
using Runtime.ExtProc.Codec;

namespace Runtime.Fuzz.Targets;

/// <summary>
/// ext_proc <c>ProcessingRequest</c> decoding (one gRPC message payload from Envoy). Invariants:
/// the decoder never throws; the span reader (one segment) and the sequence reader (the same
/// bytes in many segments) agree on success, error, kind, headers, body and metadata; a
/// rejected message leaves the request reset; metadata lookups on what was decoded never throw.
/// </summary>
internal static class ExtProcCodecTarget
{
    private static readonly ExtProcRequest s_single = new();
    private static readonly ExtProcRequest s_split = new();

    public static void Run(byte[] input)
    {
        var okSingle = ProcessingRequestDecoder.TryDecode(new ReadOnlySequence<byte>(input), s_single, out var errorSingle);
        var okSplit = ProcessingRequestDecoder.TryDecode(Segments.Split(input), s_split, out var errorSplit);
        FuzzAssert.True(okSingle == okSplit, $"span and sequence readers disagree: {okSingle} vs {okSplit}");
        FuzzAssert.True(errorSingle == errorSplit, $"span and sequence readers report different errors: '{errorSingle}' vs '{errorSplit}'");
        if (!okSingle)
        {
            FuzzAssert.True(errorSingle is { Length: > 0 }, "a rejected message has no error text");
            FuzzAssert.True(s_single.Kind == ProcessingRequestKind.None && s_single.Headers.Count == 0 && s_single.Body.IsEmpty, "a rejected message left the request half-filled");
            return;
        }

        FuzzAssert.True(s_single.Kind == s_split.Kind, "kinds differ");
        FuzzAssert.True(s_single.EndOfStream == s_split.EndOfStream, "end_of_stream differs");
        FuzzAssert.True(s_single.RequestBodyMode == s_split.RequestBodyMode && s_single.ResponseBodyMode == s_split.ResponseBodyMode, "protocol_config differs");
        FuzzAssert.True(s_single.Body.ToArray().AsSpan().SequenceEqual(s_split.Body.ToArray()), "bodies differ");
        FuzzAssert.True(s_single.Headers.Count == s_split.Headers.Count, "header counts differ");
        for (var i = 0; i < s_single.Headers.Count; i++)
        {
            FuzzAssert.True(s_single.Headers.GetName(i).SequenceEqual(s_split.Headers.GetName(i)), $"header name {i} differs");
            FuzzAssert.True(s_single.Headers.GetValue(i).SequenceEqual(s_split.Headers.GetValue(i)), $"header value {i} differs");
            s_single.Headers.TryGetValue(s_single.Headers.GetName(i), out _);
        }

        var metadata = s_single.MetadataContext.ToArray();
        FuzzAssert.True(metadata.AsSpan().SequenceEqual(s_split.MetadataContext.ToArray()), "metadata_context differs");
        if (MetadataReader.TryFindValue(metadata, "envoy.lb"u8, "x-gateway-destination-endpoint-subset"u8, out var value))
        {
            if (MetadataReader.TryGetList(value, out var list))
            {
                foreach (var _ in MetadataReader.EnumerateStrings(list))
                {
                }
            }

            MetadataReader.TryGetString(value, out _);
        }

        MetadataReader.HasNamespace(metadata, "envoy.lb"u8);
    }
}
