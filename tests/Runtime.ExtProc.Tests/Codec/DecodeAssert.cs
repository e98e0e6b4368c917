using System.Buffers;
using System.Text;
using Runtime.ExtProc.Codec;
using Runtime.Proto.Envoy.Config.Core.V3;
using Runtime.Proto.Envoy.Service.ExtProc.V3;

namespace Runtime.ExtProc.Tests.Codec;

/// <summary>Compares what our decoder produced with what Google.Protobuf parsed from the same bytes.</summary>
internal static class DecodeAssert
{
    public static void Matches(ProcessingRequest expected, ExtProcRequest actual, string context)
    {
        Assert.True((int)expected.RequestCase == (int)actual.Kind, $"{context}: kind {actual.Kind}, expected {expected.RequestCase}");

        HeaderMap? map = expected.RequestCase switch
        {
            ProcessingRequest.RequestOneofCase.RequestHeaders => expected.RequestHeaders.Headers,
            ProcessingRequest.RequestOneofCase.ResponseHeaders => expected.ResponseHeaders.Headers,
            ProcessingRequest.RequestOneofCase.RequestTrailers => expected.RequestTrailers.Trailers,
            ProcessingRequest.RequestOneofCase.ResponseTrailers => expected.ResponseTrailers.Trailers,
            _ => null,
        };
        int expectedCount = map?.Headers.Count ?? 0;
        Assert.True(expectedCount == actual.Headers.Count, $"{context}: {actual.Headers.Count} headers, expected {expectedCount}");
        for (int i = 0; i < expectedCount; i++)
        {
            HeaderValue header = map!.Headers[i];
            // Compare as Google.Protobuf sees strings (invalid UTF-8 decodes to U+FFFD on both sides).
            Assert.True(header.Key == Encoding.UTF8.GetString(actual.Headers.GetName(i)), $"{context}: header {i} name");
            bool valueMatches = header.RawValue.Length > 0
                ? header.RawValue.Span.SequenceEqual(actual.Headers.GetValue(i))
                : header.Value == Encoding.UTF8.GetString(actual.Headers.GetValue(i));
            Assert.True(valueMatches, $"{context}: header {i} ({header.Key}) value");
        }

        bool expectedEndOfStream = expected.RequestCase switch
        {
            ProcessingRequest.RequestOneofCase.RequestHeaders => expected.RequestHeaders.EndOfStream,
            ProcessingRequest.RequestOneofCase.ResponseHeaders => expected.ResponseHeaders.EndOfStream,
            ProcessingRequest.RequestOneofCase.RequestBody => expected.RequestBody.EndOfStream,
            ProcessingRequest.RequestOneofCase.ResponseBody => expected.ResponseBody.EndOfStream,
            _ => false,
        };
        Assert.True(expectedEndOfStream == actual.EndOfStream, $"{context}: end_of_stream");

        byte[] expectedBody = expected.RequestCase switch
        {
            ProcessingRequest.RequestOneofCase.RequestBody => expected.RequestBody.Body.ToByteArray(),
            ProcessingRequest.RequestOneofCase.ResponseBody => expected.ResponseBody.Body.ToByteArray(),
            _ => [],
        };
        Assert.True(expectedBody.AsSpan().SequenceEqual(actual.Body.ToArray()), $"{context}: body ({actual.Body.Length} bytes, expected {expectedBody.Length})");

        Assert.True((expected.MetadataContext is not null) == actual.HasMetadataContext, $"{context}: has metadata_context");
        if (expected.MetadataContext is not null)
        {
            Assert.Equal(expected.MetadataContext, Metadata.Parser.ParseFrom(actual.MetadataContext));
        }
        else
        {
            Assert.True(actual.MetadataContext.IsEmpty, $"{context}: metadata_context should be empty");
        }

        Assert.True(expected.ObservabilityMode == actual.ObservabilityMode, $"{context}: observability_mode");
        Assert.True((expected.ProtocolConfig is not null) == actual.HasProtocolConfig, $"{context}: has protocol_config");
        ProtocolConfiguration config = expected.ProtocolConfig ?? new ProtocolConfiguration();
        Assert.True(ExpectedMode((int)config.RequestBodyMode) == actual.RequestBodyMode, $"{context}: request_body_mode");
        Assert.True(ExpectedMode((int)config.ResponseBodyMode) == actual.ResponseBodyMode, $"{context}: response_body_mode");
        Assert.True(config.SendBodyWithoutWaitingForHeaderResponse == actual.SendBodyWithoutWaitingForHeaderResponse, $"{context}: send_body_without_waiting");
    }

    /// <summary>Our byte-backed enum keeps unknown values up to 255 and reads anything else as 255.</summary>
    public static BodySendMode ExpectedMode(int value) => (uint)value <= byte.MaxValue ? (BodySendMode)value : (BodySendMode)byte.MaxValue;

    /// <summary>Google.Protobuf's verdict on <paramref name="bytes"/>: the parsed message, or null when it rejects them.</summary>
    public static ProcessingRequest? TryParseWithGoogle(ReadOnlySequence<byte> bytes)
    {
        try
        {
            return ProcessingRequest.Parser.ParseFrom(bytes);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return null;
        }
    }
}
