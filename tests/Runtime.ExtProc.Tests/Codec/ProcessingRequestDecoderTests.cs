using System.Buffers;
using System.Text;
using Google.Protobuf;
using Runtime.ExtProc.Codec;
using Runtime.Proto.Envoy.Config.Core.V3;
using Runtime.Proto.Envoy.Service.ExtProc.V3;

namespace Runtime.ExtProc.Tests.Codec;

public sealed class ProcessingRequestDecoderTests
{
    [Fact]
    public void TryDecode_RandomRequests_MatchGoogleProtobufFromOneOrManySegments()
    {
        var random = new Random(20250101);
        var generator = new RandomProto(random) { UnknownFieldRate = 0.15 };
        // One ExtProcRequest for everything: also proves reuse leaves nothing behind.
        var decoded = new ExtProcRequest();
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = generator.Request().ToByteArray();
            ProcessingRequest expected = ProcessingRequest.Parser.ParseFrom(bytes);

            AssertDecodes(TestSequences.Single(bytes), expected, decoded, $"message {i}, one segment");
            int maxSegment = random.Next(4) switch { 0 => 1, 1 => 7, 2 => 64, _ => 4096 };
            AssertDecodes(TestSequences.Split(bytes, random, maxSegment), expected, decoded, $"message {i}, segments <= {maxSegment}");
        }
    }

    [Fact]
    public void TryDecode_ConcatenatedRequests_MergeLikeGoogleProtobuf()
    {
        // Concatenated encodings parse as a merge: last scalar wins, message fields merge,
        // repeated fields append, a different oneof member replaces the previous one.
        var random = new Random(7);
        var generator = new RandomProto(random) { UnknownFieldRate = 0.1, MaxBodySize = 4096 };
        var decoded = new ExtProcRequest();
        for (int i = 0; i < 600; i++)
        {
            var bytes = new List<byte>();
            int parts = random.Next(2, 4);
            for (int p = 0; p < parts; p++)
            {
                ProcessingRequest part = generator.Request();
                if (p > 0 && random.Next(2) == 0)
                {
                    // Same oneof member again, so the merge (not replace) path is exercised often.
                    part = SameKindAs(ProcessingRequest.Parser.ParseFrom(bytes.ToArray()), generator) ?? part;
                }

                bytes.AddRange(part.ToByteArray());
            }

            byte[] message = [.. bytes];
            ProcessingRequest expected = ProcessingRequest.Parser.ParseFrom(message);
            AssertDecodes(TestSequences.Single(message), expected, decoded, $"merge {i}, one segment");
            AssertDecodes(TestSequences.Split(message, random, 16), expected, decoded, $"merge {i}, split");
        }
    }

    [Fact]
    public void TryDecode_LargeBodyInKestrelSizedSegments_BodyIsZeroCopySliceOfInput()
    {
        byte[] body = new byte[62_000];
        new Random(1).NextBytes(body);
        byte[] bytes = new ProcessingRequest { RequestBody = new HttpBody { Body = ByteString.CopyFrom(body), EndOfStream = true } }.ToByteArray();
        ReadOnlySequence<byte> input = TestSequences.Chunked(bytes, 4096);
        var decoded = new ExtProcRequest();

        Assert.True(ProcessingRequestDecoder.TryDecode(input, decoded, out string? error), error);

        Assert.Equal(ProcessingRequestKind.RequestBody, decoded.Kind);
        Assert.True(decoded.EndOfStream);
        Assert.Equal(body, decoded.Body.ToArray());
        // The body must reference the input's segments, not a copy: tag+length of request_body
        // and of HttpBody.body precede it (1+3 bytes each), end_of_stream follows it.
        Assert.Equal(8, input.GetOffset(decoded.Body.Start));
        Assert.Same(input.Start.GetObject(), decoded.Body.Start.GetObject());
        Assert.Same(input.GetPosition(input.Length - 2).GetObject(), decoded.Body.End.GetObject());
    }

    [Fact]
    public void TryDecode_UnknownFieldsAtEveryLevel_AreSkipped()
    {
        var random = new Random(99);
        var generator = new RandomProto(random) { UnknownFieldRate = 1.0, MaxBodySize = 2048, MaxHeaders = 5 };
        var decoded = new ExtProcRequest();
        for (int i = 0; i < 400; i++)
        {
            ProcessingRequest request = generator.Request();
            byte[] bytes = request.ToByteArray();
            ProcessingRequest expected = ProcessingRequest.Parser.ParseFrom(bytes);

            AssertDecodes(TestSequences.Single(bytes), expected, decoded, $"message {i}");
            AssertDecodes(TestSequences.Split(bytes, random, 5), expected, decoded, $"message {i}, split");
        }
    }

    [Theory]
    [InlineData(0)] // varint
    [InlineData(1)] // fixed64
    [InlineData(2)] // length-delimited
    [InlineData(5)] // fixed32
    public void TryDecode_UnknownFieldOfEachWireTypeInHeaderValue_IsSkipped(int wireType)
    {
        byte[] unknown = wireType switch
        {
            0 => [0xF8, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], // field 31, 10-byte varint
            1 => [0xF9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8],
            2 => [0xFA, 0x01, 0x03, 0x0A, 0x01, 0x78], // bytes that look like a nested key field
            _ => [0xFD, 0x01, 1, 2, 3, 4],
        };
        var header = new HeaderValue { Key = "x-a", RawValue = ByteString.CopyFromUtf8("1") };
        header.MergeFrom(unknown);
        var request = new ProcessingRequest { RequestHeaders = new HttpHeaders { Headers = new HeaderMap { Headers = { header } } } };

        ExtProcRequest decoded = Decode(request.ToByteArray());

        Assert.Equal(1, decoded.Headers.Count);
        Assert.Equal("x-a"u8.ToArray(), decoded.Headers.GetName(0).ToArray());
        Assert.Equal("1"u8.ToArray(), decoded.Headers.GetValue(0).ToArray());
    }

    [Fact]
    public void TryDecode_KnownFieldNumberWithWrongWireType_IsSkippedAsUnknown()
    {
        // request_body (4) as a varint, then end_of_stream (3) of HttpHeaders as fixed32:
        // Google.Protobuf treats both as unknown fields, and so must we.
        byte[] bytes =
        [
            0x20, 0x05,                         // field 4, varint 5
            0x12, 0x07,                         // request_headers, 7 bytes
            0x1D, 0x01, 0x00, 0x00, 0x00,       //   field 3 as fixed32
            0x18, 0x01,                         //   end_of_stream = true
        ];

        ExtProcRequest decoded = Decode(bytes);

        Assert.Equal(ProcessingRequestKind.RequestHeaders, decoded.Kind);
        Assert.True(decoded.EndOfStream);
        Assert.Equal(ProcessingRequest.Parser.ParseFrom(bytes).RequestHeaders.EndOfStream, decoded.EndOfStream);
    }

    [Fact]
    public void TryDecode_DifferentOneofMemberLater_ReplacesEarlierMember()
    {
        var first = new ProcessingRequest { RequestHeaders = Headers(("a", "1"), ("b", "2")) };
        first.RequestHeaders.EndOfStream = true;
        var second = new ProcessingRequest { ResponseTrailers = new HttpTrailers { Trailers = Headers(("t", "v")).Headers } };
        byte[] bytes = [.. first.ToByteArray(), .. second.ToByteArray()];

        ExtProcRequest decoded = Decode(bytes);

        Assert.Equal(ProcessingRequestKind.ResponseTrailers, decoded.Kind);
        Assert.False(decoded.EndOfStream);
        Assert.Equal(1, decoded.Headers.Count);
        Assert.Equal("t"u8.ToArray(), decoded.Headers.GetName(0).ToArray());
    }

    [Fact]
    public void TryDecode_SameOneofMemberTwice_MergesHeaders()
    {
        byte[] bytes =
        [
            .. new ProcessingRequest { RequestHeaders = Headers(("a", "1")) }.ToByteArray(),
            .. new ProcessingRequest { RequestHeaders = Headers(("b", "2")) }.ToByteArray(),
        ];

        ExtProcRequest decoded = Decode(bytes);

        Assert.Equal(ProcessingRequestKind.RequestHeaders, decoded.Kind);
        Assert.Equal(2, decoded.Headers.Count);
        Assert.Equal("b"u8.ToArray(), decoded.Headers.GetName(1).ToArray());
    }

    [Fact]
    public void TryDecode_MetadataContextTwice_ExposesConcatenationThatParsesAsTheMerge()
    {
        var first = new ProcessingRequest { MetadataContext = new Metadata() };
        first.MetadataContext.FilterMetadata["a"] = new Google.Protobuf.WellKnownTypes.Struct();
        var second = new ProcessingRequest { MetadataContext = new Metadata() };
        second.MetadataContext.FilterMetadata["b"] = new Google.Protobuf.WellKnownTypes.Struct();
        byte[] bytes = [.. first.ToByteArray(), .. second.ToByteArray(), .. first.ToByteArray()];

        ExtProcRequest decoded = Decode(bytes);

        Assert.True(decoded.HasMetadataContext);
        Metadata merged = Metadata.Parser.ParseFrom(decoded.MetadataContext);
        Assert.Equal(ProcessingRequest.Parser.ParseFrom(bytes).MetadataContext, merged);
        Assert.Equal(["a", "b"], merged.FilterMetadata.Keys.Order());
    }

    [Fact]
    public void TryDecode_RawValueAndValue_PrefersNonEmptyRawValue()
    {
        var map = new HeaderMap
        {
            Headers =
            {
                new HeaderValue { Key = "both", Value = "from-value", RawValue = ByteString.CopyFromUtf8("from-raw") },
                new HeaderValue { Key = "value-only", Value = "v" },
                new HeaderValue { Key = "raw-only", RawValue = ByteString.CopyFrom(0xFF, 0x00, 0xC3) },
                new HeaderValue { Key = "neither" },
            },
        };

        ExtProcRequest decoded = Decode(new ProcessingRequest { RequestHeaders = new HttpHeaders { Headers = map } }.ToByteArray());

        Assert.Equal(4, decoded.Headers.Count);
        Assert.Equal("from-raw"u8.ToArray(), decoded.Headers.GetValue(0).ToArray());
        Assert.Equal("v"u8.ToArray(), decoded.Headers.GetValue(1).ToArray());
        Assert.Equal(new byte[] { 0xFF, 0x00, 0xC3 }, decoded.Headers.GetValue(2).ToArray());
        Assert.True(decoded.Headers.GetValue(3).IsEmpty);
    }

    [Theory]
    [InlineData(4, BodySendMode.FullDuplexStreamed)]
    [InlineData(7, (BodySendMode)7)]
    [InlineData(255, (BodySendMode)255)]
    [InlineData(256, (BodySendMode)255)]
    [InlineData(-1, (BodySendMode)255)]
    public void TryDecode_BodySendModeValues_KeepsUnknownValuesThatFitAndSaturatesOthers(int wireValue, BodySendMode expected)
    {
        var request = new ProcessingRequest
        {
            ProtocolConfig = new ProtocolConfiguration
            {
                RequestBodyMode = (Runtime.Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode)wireValue,
                SendBodyWithoutWaitingForHeaderResponse = true,
            },
        };

        ExtProcRequest decoded = Decode(request.ToByteArray());

        Assert.True(decoded.HasProtocolConfig);
        Assert.Equal(expected, decoded.RequestBodyMode);
        Assert.Equal(BodySendMode.None, decoded.ResponseBodyMode);
        Assert.True(decoded.SendBodyWithoutWaitingForHeaderResponse);
    }

    [Fact]
    public void TryDecode_EmptyMessage_SucceedsWithNoKind()
    {
        var decoded = new ExtProcRequest();

        Assert.True(ProcessingRequestDecoder.TryDecode(ReadOnlySequence<byte>.Empty, decoded, out string? error));

        Assert.Null(error);
        Assert.Equal(ProcessingRequestKind.None, decoded.Kind);
        Assert.False(decoded.HasProtocolConfig);
    }

    [Theory]
    [InlineData("00", DecodeErrors.InvalidTag)]                                   // field number 0
    [InlineData("07", DecodeErrors.InvalidTag)]                                   // field number 0, wire type 7
    [InlineData("0E", DecodeErrors.InvalidWireType)]                              // field 1, wire type 6
    [InlineData("0F", DecodeErrors.InvalidWireType)]                              // field 1, wire type 7
    [InlineData("0B", DecodeErrors.GroupsNotSupported)]                           // field 1, start group
    [InlineData("0C", DecodeErrors.GroupsNotSupported)]                           // field 1, end group
    [InlineData("80", DecodeErrors.TruncatedVarint)]                              // tag cut short
    [InlineData("FFFFFFFFFFFFFFFFFFFF01", DecodeErrors.VarintTooLong)]            // 11-byte tag
    [InlineData("50FFFFFFFFFFFFFFFFFFFF01", DecodeErrors.VarintTooLong)]          // 11-byte varint value
    [InlineData("8080808010", DecodeErrors.InvalidTag)]                           // tag 2^32: over 32 bits
    [InlineData("120500", DecodeErrors.LengthPastEnd)]                            // request_headers longer than the message
    [InlineData("12FFFFFFFF0F", DecodeErrors.LengthPastEnd)]                      // huge length
    [InlineData("12FFFFFFFFFFFFFFFFFF01", DecodeErrors.LengthPastEnd)]            // 2^64-1 length
    [InlineData("2203", DecodeErrors.LengthPastEnd)]                              // request_body: length past end
    [InlineData("0901020304", DecodeErrors.FixedPastEnd)]                         // fixed64 with 4 bytes
    [InlineData("0D0102", DecodeErrors.FixedPastEnd)]                             // fixed32 with 2 bytes
    [InlineData("1204", DecodeErrors.LengthPastEnd)]                              // nested length, no bytes
    [InlineData("12020A050000000000", DecodeErrors.LengthPastEnd)]                // HeaderMap length exceeds HttpHeaders
    [InlineData("12040A020A05", DecodeErrors.LengthPastEnd)]                      // HeaderValue length exceeds HeaderMap
    [InlineData("12060A040A020A03", DecodeErrors.LengthPastEnd)]                  // key length exceeds HeaderValue
    [InlineData("12050A030A010B", DecodeErrors.GroupsNotSupported)]               // group inside HeaderValue
    [InlineData("12020880", DecodeErrors.TruncatedVarint)]                        // varint cut by the nested limit
    [InlineData("120208800100", DecodeErrors.TruncatedVarint)]                    // varint runs past nested end into outer bytes
    [InlineData("5A021880", DecodeErrors.TruncatedVarint)]                        // protocol_config varint cut
    public void TryDecode_MalformedInput_ReturnsFalseWithReason(string hex, string expectedError)
    {
        byte[] bytes = Convert.FromHexString(hex);
        var decoded = new ExtProcRequest();
        var random = new Random(hex.Length);

        Assert.False(ProcessingRequestDecoder.TryDecode(TestSequences.Single(bytes), decoded, out string? error));
        Assert.Equal(expectedError, error);
        Assert.False(ProcessingRequestDecoder.TryDecode(TestSequences.Split(bytes, random, 2), decoded, out error));
        Assert.Equal(expectedError, error);
        Assert.Equal(ProcessingRequestKind.None, decoded.Kind);
        Assert.Null(DecodeAssert.TryParseWithGoogle(TestSequences.Single(bytes)));
    }

    [Fact]
    public void TryDecode_TruncatedAtEveryOffset_AgreesWithGoogleProtobuf()
    {
        // A prefix that ends on a top-level field boundary is itself a valid message; every
        // other prefix must be rejected. Google.Protobuf decides which is which.
        var random = new Random(3);
        var generator = new RandomProto(random) { UnknownFieldRate = 0.3, MaxBodySize = 300, MaxHeaders = 4 };
        var decoded = new ExtProcRequest();
        int rejected = 0;
        for (int i = 0; i < 60; i++)
        {
            byte[] bytes = generator.Request().ToByteArray();
            for (int length = 0; length < bytes.Length; length++)
            {
                byte[] prefix = bytes[..length];
                ProcessingRequest? expected = DecodeAssert.TryParseWithGoogle(TestSequences.Single(prefix));
                foreach (ReadOnlySequence<byte> input in new[] { TestSequences.Single(prefix), TestSequences.Split(prefix, random, 3) })
                {
                    bool ok = ProcessingRequestDecoder.TryDecode(input, decoded, out string? error);
                    Assert.True(ok == (expected is not null), $"message {i} cut at {length}/{bytes.Length}: ours {ok} ({error})");
                    if (ok)
                    {
                        DecodeAssert.Matches(expected!, decoded, $"message {i} cut at {length}");
                    }
                    else
                    {
                        Assert.NotNull(error);
                        rejected++;
                    }
                }
            }
        }

        Assert.True(rejected > 1000);
    }

    [Fact]
    public void TryDecode_RandomlyCorruptedBytes_NeverThrowsAndAgreesWhenBothAccept()
    {
        var random = new Random(11);
        var generator = new RandomProto(random) { UnknownFieldRate = 0.2, MaxBodySize = 500, MaxHeaders = 6 };
        var decoded = new ExtProcRequest();
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = generator.Request().ToByteArray();
            if (bytes.Length == 0)
            {
                continue;
            }

            int flips = random.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            ProcessingRequest? expected = DecodeAssert.TryParseWithGoogle(TestSequences.Single(bytes));
            foreach (ReadOnlySequence<byte> input in new[] { TestSequences.Single(bytes), TestSequences.Split(bytes, random, 4) })
            {
                bool ok = ProcessingRequestDecoder.TryDecode(input, decoded, out string? error);
                Assert.True(ok || error is not null);
                if (ok && expected is not null)
                {
                    DecodeAssert.Matches(expected, decoded, $"corrupted message {i}");
                }
            }
        }
    }

    [Fact]
    public void TryDecode_Failure_LeavesRequestReset()
    {
        var decoded = new ExtProcRequest();
        byte[] valid = new ProcessingRequest { RequestHeaders = Headers(("a", "1")), ObservabilityMode = true }.ToByteArray();
        byte[] broken = [.. valid, 0x12, 0x7F];

        Assert.False(ProcessingRequestDecoder.TryDecode(TestSequences.Single(broken), decoded, out _));

        Assert.Equal(ProcessingRequestKind.None, decoded.Kind);
        Assert.Equal(0, decoded.Headers.Count);
        Assert.False(decoded.ObservabilityMode);
    }

    [Fact]
    public void TryDecode_SteadyState_DoesNotAllocate()
    {
        byte[] headers = new ProcessingRequest
        {
            RequestHeaders = Headers(Enumerable.Range(0, 20).Select(i => ($"x-header-{i}", new string('v', 40))).ToArray()),
            ProtocolConfig = new ProtocolConfiguration { RequestBodyMode = Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode.FullDuplexStreamed },
            MetadataContext = new Metadata(),
        }.ToByteArray();
        byte[] body = new ProcessingRequest { RequestBody = new HttpBody { Body = ByteString.CopyFrom(new byte[62_000]) } }.ToByteArray();
        ReadOnlySequence<byte>[] inputs =
        [
            TestSequences.Single(headers),
            TestSequences.Chunked(headers, 64),
            TestSequences.Single(body),
            TestSequences.Chunked(body, 4096),
        ];
        var decoded = new ExtProcRequest();
        foreach (ReadOnlySequence<byte> input in inputs)
        {
            for (int i = 0; i < 10; i++)
            {
                Assert.True(ProcessingRequestDecoder.TryDecode(input, decoded, out _));
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++)
            {
                ProcessingRequestDecoder.TryDecode(input, decoded, out _);
            }

            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    private static void AssertDecodes(ReadOnlySequence<byte> input, ProcessingRequest expected, ExtProcRequest decoded, string context)
    {
        bool ok = ProcessingRequestDecoder.TryDecode(input, decoded, out string? error);
        Assert.True(ok, $"{context}: {error}");
        Assert.Null(error);
        DecodeAssert.Matches(expected, decoded, context);
    }

    private static ExtProcRequest Decode(byte[] bytes)
    {
        var decoded = new ExtProcRequest();
        Assert.True(ProcessingRequestDecoder.TryDecode(TestSequences.Single(bytes), decoded, out string? error), error);
        var split = new ExtProcRequest();
        Assert.True(ProcessingRequestDecoder.TryDecode(TestSequences.Split(bytes, new Random(bytes.Length), 3), split, out error), error);
        DecodeAssert.Matches(ProcessingRequest.Parser.ParseFrom(bytes), split, "split copy");
        return decoded;
    }

    private static HttpHeaders Headers(params (string Name, string Value)[] headers)
    {
        var map = new HeaderMap();
        foreach ((string name, string value) in headers)
        {
            map.Headers.Add(new HeaderValue { Key = name, RawValue = ByteString.CopyFrom(Encoding.UTF8.GetBytes(value)) });
        }

        return new HttpHeaders { Headers = map };
    }

    private static ProcessingRequest? SameKindAs(ProcessingRequest previous, RandomProto generator) => previous.RequestCase switch
    {
        ProcessingRequest.RequestOneofCase.RequestHeaders => new ProcessingRequest { RequestHeaders = generator.HttpHeaders() },
        ProcessingRequest.RequestOneofCase.ResponseHeaders => new ProcessingRequest { ResponseHeaders = generator.HttpHeaders() },
        ProcessingRequest.RequestOneofCase.RequestBody => new ProcessingRequest { RequestBody = generator.HttpBody() },
        ProcessingRequest.RequestOneofCase.ResponseBody => new ProcessingRequest { ResponseBody = generator.HttpBody() },
        ProcessingRequest.RequestOneofCase.RequestTrailers => new ProcessingRequest { RequestTrailers = generator.HttpTrailers() },
        ProcessingRequest.RequestOneofCase.ResponseTrailers => new ProcessingRequest { ResponseTrailers = generator.HttpTrailers() },
        _ => null,
    };
}
