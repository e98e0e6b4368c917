using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Runtime.Proto.Grpc.Health.V1;

namespace Runtime.EndToEnd.Tests.Tooling;

/// <summary>
/// A small in-process Kestrel h2c gRPC server that lets the tooling be tested without the
/// runtime: a full-duplex pass-through on the Process path, a Health/Check that answers
/// SERVING, <c>/test/status</c> that ends with the status asked for in request headers,
/// and trailers-only UNIMPLEMENTED for anything else. It records aborted streams.
/// </summary>
internal sealed class FakeExtProcServer : IAsyncDisposable
{
    public const string StatusPath = "/test/status";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _abortedPaths = new();
    private readonly SemaphoreSlim _aborts = new(0);

    private FakeExtProcServer(WebApplication app)
    {
        _app = app;
    }

    public Uri Address { get; private set; } = null!;

    /// <summary>Paths of the streams the client aborted (RST_STREAM seen by Kestrel) while their handler ran.</summary>
    public IReadOnlyCollection<string> AbortedPaths => _abortedPaths;

    /// <summary>Waits until one more stream has been aborted by the client.</summary>
    public async Task WaitForAbortAsync(TimeSpan timeout)
    {
        if (!await _aborts.WaitAsync(timeout))
        {
            throw new TimeoutException($"No stream was aborted within {timeout.TotalSeconds:0.#} s.");
        }
    }

    public static async Task<FakeExtProcServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
        });

        var app = builder.Build();
        var server = new FakeExtProcServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Address = new Uri(address);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _aborts.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        using var registration = context.RequestAborted.Register(() =>
        {
            _abortedPaths.Enqueue(path);
            _aborts.Release();
        });

        context.Response.ContentType = "application/grpc";
        try
        {
            switch (context.Request.Path.Value)
            {
                case EnvoyExtProcClient.ProcessPath:
                    await PassThroughAsync(context);
                    break;
                case GrpcHealthClient.CheckPath:
                    await HealthCheckAsync(context);
                    break;
                case StatusPath:
                    await StatusAsync(context);
                    break;
                default:
                    context.Response.Headers["grpc-status"] = "12";
                    context.Response.Headers["grpc-message"] = "unknown method";
                    break;
            }
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream; that is what the abort tests provoke.
        }
    }

    private static async Task PassThroughAsync(HttpContext context)
    {
        await context.Response.StartAsync(context.RequestAborted);
        var state = new PassThroughState();
        await foreach (var payload in ReadMessagesAsync(context))
        {
            var request = ProcessingRequest.Parser.ParseFrom(payload);
            foreach (var response in state.Respond(request))
            {
                await WriteAsync(context, response);
            }
        }

        context.Response.AppendTrailer("grpc-status", "0");
    }

    /// <summary>Echoes bodies in streamed_response pieces; a body ended by trailers gets an empty end_of_stream piece first.</summary>
    private sealed class PassThroughState
    {
        private bool _requestBodyEnded;
        private bool _responseBodyEnded;
        private bool _requestBodySeen;
        private bool _responseBodySeen;

        public IEnumerable<ProcessingResponse> Respond(ProcessingRequest request)
        {
            switch (request.RequestCase)
            {
                case ProcessingRequest.RequestOneofCase.RequestHeaders:
                    yield return new ProcessingResponse { RequestHeaders = new HeadersResponse { Response = new CommonResponse() } };
                    break;
                case ProcessingRequest.RequestOneofCase.ResponseHeaders:
                    yield return new ProcessingResponse { ResponseHeaders = new HeadersResponse { Response = new CommonResponse() } };
                    break;
                case ProcessingRequest.RequestOneofCase.RequestBody:
                    _requestBodySeen = true;
                    _requestBodyEnded |= request.RequestBody.EndOfStream;
                    foreach (var piece in Echo(request.RequestBody.Body, request.RequestBody.EndOfStream))
                    {
                        yield return new ProcessingResponse { RequestBody = piece };
                    }

                    break;
                case ProcessingRequest.RequestOneofCase.ResponseBody:
                    _responseBodySeen = true;
                    _responseBodyEnded |= request.ResponseBody.EndOfStream;
                    foreach (var piece in Echo(request.ResponseBody.Body, request.ResponseBody.EndOfStream))
                    {
                        yield return new ProcessingResponse { ResponseBody = piece };
                    }

                    break;
                case ProcessingRequest.RequestOneofCase.RequestTrailers:
                    if (_requestBodySeen && !_requestBodyEnded)
                    {
                        yield return new ProcessingResponse { RequestBody = Echo(ByteString.Empty, endOfStream: true).Single() };
                    }

                    yield return new ProcessingResponse { RequestTrailers = new TrailersResponse() };
                    break;
                case ProcessingRequest.RequestOneofCase.ResponseTrailers:
                    if (_responseBodySeen && !_responseBodyEnded)
                    {
                        yield return new ProcessingResponse { ResponseBody = Echo(ByteString.Empty, endOfStream: true).Single() };
                    }

                    yield return new ProcessingResponse { ResponseTrailers = new TrailersResponse() };
                    break;
            }
        }

        private static IEnumerable<BodyResponse> Echo(ByteString body, bool endOfStream)
        {
            var pieces = BodyChunks.SplitEvery(body.Memory, BodyChunks.GieChunkBytes);
            for (var i = 0; i < Math.Max(1, pieces.Count); i++)
            {
                var streamed = new StreamedBodyResponse
                {
                    Body = pieces.Count == 0 ? ByteString.Empty : ByteString.CopyFrom(pieces[i].Span),
                    EndOfStream = endOfStream && i >= pieces.Count - 1,
                };
                yield return new BodyResponse { Response = new CommonResponse { BodyMutation = new BodyMutation { StreamedResponse = streamed } } };
            }
        }
    }

    private static async Task HealthCheckAsync(HttpContext context)
    {
        await foreach (var payload in ReadMessagesAsync(context))
        {
            var request = HealthCheckRequest.Parser.ParseFrom(payload);
            if (request.Service.Length > 0 && request.Service != "known")
            {
                context.Response.Headers["grpc-status"] = "5";
                return;
            }

            await WriteAsync(context, new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.Serving });
        }

        context.Response.AppendTrailer("grpc-status", "0");
    }

    private static async Task StatusAsync(HttpContext context)
    {
        var status = context.Request.Headers["x-test-status"].ToString();
        var message = context.Request.Headers["x-test-message"].ToString();
        if (context.Request.Headers.ContainsKey("x-test-trailers-only"))
        {
            context.Response.Headers["grpc-status"] = status;
            context.Response.Headers["grpc-message"] = message;
            return;
        }

        // Drain the request so the status follows the whole body, as a real handler would.
        await foreach (var payload in ReadMessagesAsync(context))
        {
            await WriteAsync(context, new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.Serving });
        }

        context.Response.AppendTrailer("grpc-status", status);
        context.Response.AppendTrailer("grpc-message", message);
    }

    private static async Task WriteAsync(HttpContext context, IMessage message)
    {
        var frame = GrpcFraming.Encode(message);
        await context.Response.BodyWriter.WriteAsync(frame, context.RequestAborted);
    }

    private static async IAsyncEnumerable<byte[]> ReadMessagesAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            var buffer = result.Buffer;
            while (TryReadMessage(ref buffer, out var payload))
            {
                yield return payload;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                yield break;
            }
        }
    }

    private static bool TryReadMessage(ref ReadOnlySequence<byte> buffer, out byte[] payload)
    {
        payload = [];
        if (buffer.Length < GrpcFraming.PrefixLength)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[GrpcFraming.PrefixLength];
        buffer.Slice(0, GrpcFraming.PrefixLength).CopyTo(prefix);
        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        if (buffer.Length < GrpcFraming.PrefixLength + length)
        {
            return false;
        }

        payload = buffer.Slice(GrpcFraming.PrefixLength, length).ToArray();
        buffer = buffer.Slice(GrpcFraming.PrefixLength + length);
        return true;
    }
}
