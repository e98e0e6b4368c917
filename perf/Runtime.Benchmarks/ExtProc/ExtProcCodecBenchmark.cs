using System.Buffers;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Runtime.Benchmarks.Infrastructure;
using Runtime.ExtProc.Codec;
using Runtime.Proto.Envoy.Config.Core.V3;
using Runtime.Proto.Envoy.Service.ExtProc.V3;

namespace Runtime.Benchmarks.ExtProc;

/// <summary>
/// The ext_proc codec on the messages every request sees: decoding Envoy's request headers and
/// body chunks, and encoding the routing reply. All of it must stay at 0 B/op.
/// </summary>
[MemoryDiagnoser]
public class ExtProcCodecBenchmark
{

    private static readonly (string Name, string Value)[] s_requestHeaders =
    [
        (":authority", "inference-gateway.example.com"),
        (":path", "/v1/chat/completions"),
        (":method", "POST"),
        (":scheme", "https"),
        ("content-type", "application/json"),
        ("content-length", "1024"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate, br"),
        ("user-agent", "OpenAI/Python 1.51.2"),
        ("authorization", "Bearer sk-proj-4f1c0e9b7a2d4c8e9f0a1b2c3d4e5f6a7b8c9d0e"),
        ("x-stainless-lang", "python"),
        ("x-stainless-retry-count", "0"),
        ("x-forwarded-for", "10.244.3.17"),
        ("x-forwarded-proto", "https"),
        ("x-request-id", "5e0b7c7e-3b4f-4d8e-9c1a-2f6d8e9a0b1c"),
        ("x-envoy-internal", "true"),
        ("x-envoy-expected-rq-timeout-ms", "300000"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("x-gateway-model-name", "meta-llama/Llama-3.1-8B-Instruct"),
        ("x-gateway-inference-objective", "interactive"),
    ];

    private readonly ExtProcRequest _request = new();
    private readonly ProcessingResponseBuilder _builder = new();
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private ReadOnlySequence<byte> _headersMessage;
    private ReadOnlySequence<byte> _bodyMessage;
    private ReadOnlySequence<byte> _bodyMessageSegmented;
    private ReadOnlySequence<byte> _largeBodyMessageSegmented;
    private ReadOnlySequence<byte> _streamedChunk;

    [GlobalSetup]
    public void Setup()
    {
        var map = new HeaderMap();
        foreach ((string name, string value) in s_requestHeaders)
        {
            // Envoy sends values in raw_value.
            map.Headers.Add(new HeaderValue { Key = name, RawValue = ByteString.CopyFromUtf8(value) });
        }

        _headersMessage = new ReadOnlySequence<byte>(new ProcessingRequest
        {
            RequestHeaders = new HttpHeaders { Headers = map },
            ProtocolConfig = new ProtocolConfiguration
            {
                RequestBodyMode = Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode.FullDuplexStreamed,
                ResponseBodyMode = Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode.FullDuplexStreamed,
            },
        }.ToByteArray());

        byte[] body = BodyMessage(1024);
        _bodyMessage = new ReadOnlySequence<byte>(body);
        // Starts 512 B before a block boundary, so the 1 KB message spans two pipe segments.
        _bodyMessageSegmented = PipeSegments.Split(body, firstSegmentLength: 512);
        // GIE streams 62,000 B chunks: ~16 segments.
        _largeBodyMessageSegmented = PipeSegments.Split(BodyMessage(62_000), firstSegmentLength: 1000);

        byte[] chunk = new byte[62_000];
        new Random(1).NextBytes(chunk);
        _streamedChunk = PipeSegments.Split(chunk, firstSegmentLength: PipeSegments.BlockSize);

        // Warm pooled storage so the benchmarks measure the steady state.
        DecodeRequestHeaders();
        DecodeRequestBody1K_FourKilobyteSegments();
        DecodeRequestBody62K_FourKilobyteSegments();
        EncodeRequestHeadersResponse();
        EncodeStreamedBodyResponse62K();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _request.Release();
        _builder.Release();
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Decoded))]
    public bool DecodeRequestHeaders() => ProcessingRequestDecoder.TryDecode(_headersMessage, _request, out _);

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Decoded))]
    public bool DecodeRequestBody1K_OneSegment() => ProcessingRequestDecoder.TryDecode(_bodyMessage, _request, out _);

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Decoded))]
    public bool DecodeRequestBody1K_FourKilobyteSegments() => ProcessingRequestDecoder.TryDecode(_bodyMessageSegmented, _request, out _);

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Decoded))]
    public bool DecodeRequestBody62K_FourKilobyteSegments() => ProcessingRequestDecoder.TryDecode(_largeBodyMessageSegmented, _request, out _);

    /// <summary>Reference point, not a budgeted path: Google.Protobuf materialising the same message.</summary>
    [Benchmark]
    public ProcessingRequest GoogleProtobuf_ParseRequestHeaders() => ProcessingRequest.Parser.ParseFrom(_headersMessage);

    /// <summary>The routing reply: destination header + model header, lb metadata, clear_route_cache.</summary>
    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Encoded))]
    public int EncodeRequestHeadersResponse()
    {
        ProcessingResponseBuilder builder = _builder;
        builder.Reset(ProcessingResponseKind.RequestHeaders);
        builder.SetHeader("x-gateway-destination-endpoint"u8, "10.0.0.1:8000"u8);
        builder.SetHeader("x-gateway-model-name-rewrite"u8, "meta-llama/Llama-3.1-8B-Instruct"u8);
        builder.ClearRouteCache = true;
        builder.AddDynamicMetadata("envoy.lb"u8, "x-gateway-destination-endpoint"u8, "10.0.0.1:8000"u8);
        int size = builder.CalculateSize();
        _output.ResetWrittenCount();
        builder.WriteTo(_output);
        return size;
    }

    /// <summary>A full-duplex body reply: one GIE-sized chunk copied from 4 KB segments into the output.</summary>
    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Encoded))]
    public int EncodeStreamedBodyResponse62K()
    {
        ProcessingResponseBuilder builder = _builder;
        builder.Reset(ProcessingResponseKind.RequestBody);
        builder.SetStreamedBody(_streamedChunk, endOfStream: false);
        int size = builder.CalculateSize();
        _output.ResetWrittenCount();
        builder.WriteTo(_output);
        return size;
    }

    private bool Decoded(bool ok) => ok;

    // The whole reply was written, and it is the size the builder computed.
    private bool Encoded(int size) => size > 0 && _output.WrittenCount == size;

    private static byte[] BodyMessage(int bodyLength)
    {
        byte[] body = new byte[bodyLength];
        new Random(bodyLength).NextBytes(body);
        return new ProcessingRequest { RequestBody = new HttpBody { Body = ByteString.CopyFrom(body), EndOfStream = false } }.ToByteArray();
    }
}
