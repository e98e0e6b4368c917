using System.Buffers;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Runtime.ExtProc.Codec;
using Runtime.Proto.Envoy.Config.Core.V3;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.Proto.Envoy.Type.V3;

namespace Runtime.ExtProc.Tests.Codec;

public sealed class ProcessingResponseBuilderTests
{
    [Fact]
    public void WriteTo_RandomResponses_ByteIdenticalToGoogleProtobuf()
    {
        var random = new Random(424242);
        var generator = new RandomProto(random) { MaxBodySize = 100 * 1024 };
        // One builder and one output buffer for everything: reuse must not leak state between responses.
        var builder = new ProcessingResponseBuilder();
        var output = new ArrayBufferWriter<byte>();
        for (int i = 0; i < 3000; i++)
        {
            ProcessingResponse expected = BuildRandom(generator, builder);
            byte[] expectedBytes = expected.ToByteArray();

            Assert.Equal(expectedBytes.Length, builder.CalculateSize());
            output.ResetWrittenCount();
            builder.WriteTo(output);
            byte[] actual = output.WrittenSpan.ToArray();
            if (!expectedBytes.AsSpan().SequenceEqual(actual))
            {
                Assert.Fail($"response {i} ({expected.ResponseCase}): bytes differ\nexpected {Convert.ToHexString(expectedBytes)}\nactual   {Convert.ToHexString(actual)}\n{expected}");
            }

            Assert.Equal(expected, ProcessingResponse.Parser.ParseFrom(actual));

            if (i % 5 == 0)
            {
                // Same response into a writer that hands out tiny spans: chunked copies must not change a byte.
                var chunked = new SmallChunkBufferWriter(random);
                builder.WriteTo(chunked);
                Assert.Equal(expectedBytes, chunked.WrittenBytes);
            }
        }
    }

    [Fact]
    public void WriteTo_EmptyHeadersResponse_WritesEmptyCommonResponse()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.RequestHeaders);

        // request_headers { response { } }: Envoy needs the CommonResponse even when empty.
        Assert.Equal("0A020A00", Write(builder));
        Assert.Equal(new ProcessingResponse { RequestHeaders = new HeadersResponse { Response = new CommonResponse() } }.ToByteArray(), Convert.FromHexString(Write(builder)));
    }

    [Fact]
    public void WriteTo_ClearRouteCacheWithEnsuredHeaderMutation_WritesEmptyHeaderMutation()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.RequestHeaders);
        builder.ClearRouteCache = true;
        builder.EnsureHeaderMutation();

        Assert.Equal("0A060A04120028" + "01", Write(builder));
    }

    [Fact]
    public void SetHeader_AnyValue_WritesRawValueOnlyAndAppendOnlyWhenGiven()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.RequestHeaders);
        builder.SetHeader("x-gateway-destination-endpoint"u8, "10.0.0.1:8000"u8);
        builder.SetHeader("x-append"u8, "1"u8, append: true);
        builder.SetHeader("x-overwrite"u8, "2"u8, append: false);

        ProcessingResponse parsed = ProcessingResponse.Parser.ParseFrom(Convert.FromHexString(Write(builder)));

        var set = parsed.RequestHeaders.Response.HeaderMutation.SetHeaders;
        Assert.Equal(3, set.Count);
        Assert.All(set, option => Assert.Equal(string.Empty, option.Header.Value));
        Assert.Equal("10.0.0.1:8000", set[0].Header.RawValue.ToStringUtf8());
        Assert.Null(set[0].Append);
        Assert.True(set[1].Append);
        Assert.False(set[2].Append);
    }

    [Fact]
    public void WriteTo_TypicalRoutingResponse_MatchesGoogleProtobuf()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.RequestHeaders);
        builder.SetHeader("x-gateway-destination-endpoint"u8, "10.0.0.1:8000"u8);
        builder.SetHeader("x-gateway-model-name"u8, "llama-3-8b"u8);
        builder.ClearRouteCache = true;
        builder.AddDynamicMetadata("envoy.lb"u8, "x-gateway-destination-endpoint"u8, "10.0.0.1:8000"u8);

        var expected = new ProcessingResponse
        {
            RequestHeaders = new HeadersResponse
            {
                Response = new CommonResponse
                {
                    HeaderMutation = new HeaderMutation
                    {
                        SetHeaders =
                        {
                            Option("x-gateway-destination-endpoint", "10.0.0.1:8000", null),
                            Option("x-gateway-model-name", "llama-3-8b", null),
                        },
                    },
                    ClearRouteCache = true,
                },
            },
            DynamicMetadata = new Struct(),
        };
        var lb = new Struct();
        lb.Fields["x-gateway-destination-endpoint"] = Value.ForString("10.0.0.1:8000");
        expected.DynamicMetadata.Fields["envoy.lb"] = Value.ForStruct(lb);

        Assert.Equal(Convert.ToHexString(expected.ToByteArray()), Write(builder));
    }

    [Fact]
    public void AddDynamicMetadata_SameKeyTwice_ReplacesValueInPlace()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.None);
        builder.AddDynamicMetadata("ns"u8, "a"u8, "1"u8);
        builder.AddDynamicMetadata("other"u8, "b"u8, "2"u8);
        builder.AddDynamicMetadata("ns"u8, "c"u8, "3"u8);
        builder.AddDynamicMetadata("ns"u8, "a"u8, "4"u8);

        var expected = new ProcessingResponse { DynamicMetadata = new Struct() };
        var ns = new Struct();
        ns.Fields["a"] = Value.ForString("1");
        ns.Fields["c"] = Value.ForString("3");
        ns.Fields["a"] = Value.ForString("4");
        var other = new Struct();
        other.Fields["b"] = Value.ForString("2");
        expected.DynamicMetadata.Fields["ns"] = Value.ForStruct(ns);
        expected.DynamicMetadata.Fields["other"] = Value.ForStruct(other);

        Assert.Equal(Convert.ToHexString(expected.ToByteArray()), Write(builder));
    }

    [Fact]
    public void SetImmediateResponse_AllFields_MatchesGoogleProtobuf()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.ImmediateResponse);
        builder.SetHeader("content-type"u8, "application/json"u8);
        builder.SetImmediateResponse(429, "{\"error\":\"too many requests\"}"u8, "flow_control_queue_full"u8, grpcStatus: 8);

        var expected = new ProcessingResponse
        {
            ImmediateResponse = new ImmediateResponse
            {
                Status = new HttpStatus { Code = StatusCode.TooManyRequests },
                Headers = new HeaderMutation { SetHeaders = { Option("content-type", "application/json", null) } },
                Body = "{\"error\":\"too many requests\"}",
                GrpcStatus = new GrpcStatus { Status = 8 },
                Details = "flow_control_queue_full",
            },
        };

        Assert.Equal(Convert.ToHexString(expected.ToByteArray()), Write(builder));
    }

    [Fact]
    public void SetStreamedBody_MultiSegmentChunk_CopiedOnlyAtWriteTo()
    {
        byte[] chunk = new byte[62_000];
        new Random(2).NextBytes(chunk);
        byte[] source = (byte[])chunk.Clone();
        ReadOnlySequence<byte> body = TestSequences.Chunked(source, 4096);
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.RequestBody);
        builder.SetStreamedBody(body, endOfStream: true);

        var expected = new ProcessingResponse
        {
            RequestBody = new BodyResponse
            {
                Response = new CommonResponse
                {
                    BodyMutation = new BodyMutation { StreamedResponse = new StreamedBodyResponse { Body = ByteString.CopyFrom(chunk), EndOfStream = true } },
                },
            },
        };

        Assert.Equal(expected.CalculateSize(), builder.CalculateSize());
        Assert.Equal(Convert.ToHexString(expected.ToByteArray()), Write(builder));
    }

    [Fact]
    public void SetBody_Empty_StillWritesBodyMutationMember()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.ResponseBody);
        builder.SetBody(ReadOnlySequence<byte>.Empty);

        var expected = new ProcessingResponse
        {
            ResponseBody = new BodyResponse { Response = new CommonResponse { BodyMutation = new BodyMutation { Body = ByteString.Empty } } },
        };
        Assert.Equal(Convert.ToHexString(expected.ToByteArray()), Write(builder));
    }

    [Fact]
    public void Reset_AfterFullResponse_ForgetsEverything()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.RequestHeaders);
        builder.Status = CommonResponseStatus.ContinueAndReplace;
        builder.ClearRouteCache = true;
        builder.SetHeader("a"u8, "b"u8);
        builder.RemoveHeader("c"u8);
        builder.SetClearBody();
        builder.AddDynamicMetadata("n"u8, "k"u8, "v"u8);
        Write(builder);

        builder.Reset(ProcessingResponseKind.RequestBody);

        Assert.Equal(ProcessingResponseKind.RequestBody, builder.Kind);
        Assert.Equal(CommonResponseStatus.Continue, builder.Status);
        Assert.False(builder.ClearRouteCache);
        Assert.Equal("1A020A00", Write(builder));
    }

    [Fact]
    public void CalculateSize_AfterFurtherMutation_Recomputed()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.ResponseHeaders);
        int before = builder.CalculateSize();

        builder.SetHeader("x-a"u8, "1"u8);

        Assert.True(builder.CalculateSize() > before);
        Assert.Equal(builder.CalculateSize(), Convert.FromHexString(Write(builder)).Length);
    }

    [Fact]
    public void Members_NotApplicableToKind_Throw()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.RequestTrailers);
        Assert.Throws<InvalidOperationException>(() => builder.Status = CommonResponseStatus.ContinueAndReplace);
        Assert.Throws<InvalidOperationException>(() => builder.ClearRouteCache = true);
        Assert.Throws<InvalidOperationException>(() => builder.SetBody(ReadOnlySequence<byte>.Empty));
        Assert.Throws<InvalidOperationException>(() => builder.SetClearBody());
        Assert.Throws<InvalidOperationException>(() => builder.SetStreamedBody(ReadOnlySequence<byte>.Empty, true));
        Assert.Throws<InvalidOperationException>(() => builder.SetImmediateResponse(500, default, default));
        // Defaults are always fine to assign.
        builder.Status = CommonResponseStatus.Continue;
        builder.ClearRouteCache = false;

        builder.Reset(ProcessingResponseKind.None);
        Assert.Throws<InvalidOperationException>(() => builder.SetHeader("a"u8, "b"u8));
        Assert.Throws<InvalidOperationException>(() => builder.RemoveHeader("a"u8));
        Assert.Throws<InvalidOperationException>(() => builder.EnsureHeaderMutation());
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Reset((ProcessingResponseKind)8));
    }

    [Fact]
    public void WriteTo_SteadyState_DoesNotAllocate()
    {
        var builder = new ProcessingResponseBuilder();
        var output = new ArrayBufferWriter<byte>(1 << 20);
        ReadOnlySequence<byte> body = TestSequences.Chunked(new byte[62_000], 4096);
        for (int i = 0; i < 10; i++)
        {
            Build(builder, body);
            output.ResetWrittenCount();
            builder.WriteTo(output);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Build(builder, body);
            output.ResetWrittenCount();
            builder.WriteTo(output);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Build(ProcessingResponseBuilder builder, in ReadOnlySequence<byte> body)
        {
            builder.Reset(ProcessingResponseKind.RequestHeaders);
            builder.SetHeader("x-gateway-destination-endpoint"u8, "10.0.0.1:8000"u8);
            builder.RemoveHeader("content-length"u8);
            builder.ClearRouteCache = true;
            builder.AddDynamicMetadata("envoy.lb"u8, "x-gateway-destination-endpoint"u8, "10.0.0.1:8000"u8);
            builder.CalculateSize();
            builder.Reset(ProcessingResponseKind.RequestBody);
            builder.SetStreamedBody(body, endOfStream: false);
            builder.CalculateSize();
        }
    }

    [Fact]
    public void Release_ThenReuse_StillProducesCorrectBytes()
    {
        var builder = new ProcessingResponseBuilder();
        builder.Reset(ProcessingResponseKind.RequestHeaders);
        builder.SetHeader("a"u8, "b"u8);
        builder.AddDynamicMetadata("n"u8, "k"u8, "v"u8);

        builder.Release();

        Assert.Equal(ProcessingResponseKind.None, builder.Kind);
        Assert.Equal(0, builder.CalculateSize());
        builder.Reset(ProcessingResponseKind.ResponseTrailers);
        builder.RemoveHeader("x"u8);
        var expected = new ProcessingResponse { ResponseTrailers = new TrailersResponse { HeaderMutation = new HeaderMutation { RemoveHeaders = { "x" } } } };
        Assert.Equal(Convert.ToHexString(expected.ToByteArray()), Write(builder));
    }

    private static string Write(ProcessingResponseBuilder builder)
    {
        var output = new ArrayBufferWriter<byte>();
        builder.WriteTo(output);
        Assert.Equal(builder.CalculateSize(), output.WrittenCount);
        return Convert.ToHexString(output.WrittenSpan);
    }

    private static HeaderValueOption Option(string name, string value, bool? append) => new()
    {
        Header = new HeaderValue { Key = name, RawValue = ByteString.CopyFromUtf8(value) },
        Append = append,
    };

    /// <summary>
    /// Drives <paramref name="builder"/> with random calls and builds the Google.Protobuf message
    /// those calls mean, in parallel.
    /// </summary>
    private static ProcessingResponse BuildRandom(RandomProto generator, ProcessingResponseBuilder builder)
    {
        Random random = generator.Random;
        var kind = (ProcessingResponseKind)random.Next(0, 8);
        builder.Reset(kind);
        var expected = new ProcessingResponse();
        HeaderMutation? mutation = null;

        void RandomHeaderCalls()
        {
            int sets = random.Next(10) == 0 ? random.Next(10, 60) : random.Next(0, 5);
            int removes = random.Next(0, 3);
            for (int i = 0; i < sets + removes; i++)
            {
                mutation ??= new HeaderMutation();
                string name = generator.HeaderName();
                if (i < sets)
                {
                    byte[] value = generator.HeaderBytes();
                    bool? append = random.Next(3) switch { 0 => null, 1 => true, _ => false };
                    builder.SetHeader(Encoding.UTF8.GetBytes(name), value, append);
                    mutation.SetHeaders.Add(new HeaderValueOption
                    {
                        Header = new HeaderValue { Key = name, RawValue = ByteString.CopyFrom(value) },
                        Append = append,
                    });
                }
                else
                {
                    builder.RemoveHeader(Encoding.UTF8.GetBytes(name));
                    mutation.RemoveHeaders.Add(name);
                }
            }

            if (generator.Chance(0.2))
            {
                builder.EnsureHeaderMutation();
                mutation ??= new HeaderMutation();
            }
        }

        switch (kind)
        {
            case ProcessingResponseKind.RequestHeaders:
            case ProcessingResponseKind.ResponseHeaders:
            case ProcessingResponseKind.RequestBody:
            case ProcessingResponseKind.ResponseBody:
            {
                var common = new CommonResponse();
                if (generator.Chance(0.3))
                {
                    builder.Status = CommonResponseStatus.ContinueAndReplace;
                    common.Status = CommonResponse.Types.ResponseStatus.ContinueAndReplace;
                }

                RandomHeaderCalls();
                common.HeaderMutation = mutation;
                int bodyCalls = random.Next(4) == 0 ? 2 : 1;
                for (int i = 0; i < bodyCalls; i++)
                {
                    byte[] body = generator.Bytes(generator.BodySize());
                    ReadOnlySequence<byte> sequence = random.Next(2) == 0 ? TestSequences.Single(body) : TestSequences.Split(body, random, 5000);
                    switch (random.Next(4))
                    {
                        case 0:
                            break;
                        case 1:
                            builder.SetBody(sequence);
                            common.BodyMutation = new BodyMutation { Body = ByteString.CopyFrom(body) };
                            break;
                        case 2:
                            builder.SetClearBody();
                            common.BodyMutation = new BodyMutation { ClearBodyFlag = true };
                            break;
                        default:
                            bool endOfStream = generator.Chance(0.5);
                            builder.SetStreamedBody(sequence, endOfStream);
                            common.BodyMutation = new BodyMutation
                            {
                                StreamedResponse = new StreamedBodyResponse { Body = ByteString.CopyFrom(body), EndOfStream = endOfStream },
                            };
                            break;
                    }
                }

                if (generator.Chance(0.4))
                {
                    builder.ClearRouteCache = true;
                    common.ClearRouteCache = true;
                }

                switch (kind)
                {
                    case ProcessingResponseKind.RequestHeaders: expected.RequestHeaders = new HeadersResponse { Response = common }; break;
                    case ProcessingResponseKind.ResponseHeaders: expected.ResponseHeaders = new HeadersResponse { Response = common }; break;
                    case ProcessingResponseKind.RequestBody: expected.RequestBody = new BodyResponse { Response = common }; break;
                    default: expected.ResponseBody = new BodyResponse { Response = common }; break;
                }

                break;
            }

            case ProcessingResponseKind.RequestTrailers:
            case ProcessingResponseKind.ResponseTrailers:
                RandomHeaderCalls();
                var trailers = new TrailersResponse { HeaderMutation = mutation };
                if (kind == ProcessingResponseKind.RequestTrailers)
                {
                    expected.RequestTrailers = trailers;
                }
                else
                {
                    expected.ResponseTrailers = trailers;
                }

                break;

            case ProcessingResponseKind.ImmediateResponse:
                var immediate = new ImmediateResponse();
                if (generator.Chance(0.5))
                {
                    RandomHeaderCalls();
                }

                if (generator.Chance(0.9))
                {
                    int code = random.Next(10) switch
                    {
                        0 => 0,
                        1 => -random.Next(1, 100),
                        2 => random.Next(100, 100_000),
                        _ => new[] { 200, 400, 429, 500, 503 }[random.Next(5)],
                    };
                    string body = generator.String(0, random.Next(2) == 0 ? 20 : 2000, unicode: true);
                    string details = generator.String(0, 40, unicode: generator.Chance(0.2));
                    int? grpcStatus = random.Next(3) switch { 0 => null, 1 => random.Next(0, 17), _ => random.Next(int.MinValue, int.MaxValue) };
                    builder.SetImmediateResponse(code, Encoding.UTF8.GetBytes(body), Encoding.UTF8.GetBytes(details), grpcStatus);
                    immediate.Status = new HttpStatus { Code = (StatusCode)code };
                    immediate.Body = body;
                    immediate.Details = details;
                    immediate.GrpcStatus = grpcStatus is null ? null : new GrpcStatus { Status = (uint)grpcStatus.Value };
                }

                if (generator.Chance(0.5))
                {
                    RandomHeaderCalls();
                }

                immediate.Headers = mutation;
                expected.ImmediateResponse = immediate;
                break;

            default:
                break; // no oneof member: at most dynamic metadata
        }

        if (generator.Chance(0.4))
        {
            string[] namespaces = ["envoy.lb", "ext_proc", string.Empty, "ünï"];
            string[] keys = ["x-gateway-destination-endpoint", "model", string.Empty, "k", "ключ"];
            expected.DynamicMetadata = new Struct();
            int count = random.Next(1, 8);
            for (int i = 0; i < count; i++)
            {
                string ns = namespaces[random.Next(namespaces.Length)];
                string key = keys[random.Next(keys.Length)];
                string value = generator.String(0, 30, unicode: generator.Chance(0.3));
                builder.AddDynamicMetadata(Encoding.UTF8.GetBytes(ns), Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));
                if (!expected.DynamicMetadata.Fields.TryGetValue(ns, out Value? nsValue))
                {
                    nsValue = Value.ForStruct(new Struct());
                    expected.DynamicMetadata.Fields[ns] = nsValue;
                }

                nsValue.StructValue.Fields[key] = Value.ForString(value);
            }
        }

        return expected;
    }
}
