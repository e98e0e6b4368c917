using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Google.Protobuf;
using Grpc.Core;
using Runtime.ExtProc.Stream;
using Runtime.TestSupport.ExtProc;
using Runtime.TestSupport.Grpc;
using GrpcFraming = Runtime.TestSupport.Grpc.GrpcFraming;

namespace Runtime.ExtProc.Tests.Stream;

/// <summary>
/// llm-d's ext_proc stream metrics around real calls: every way a stream can end is counted
/// under grpc-go's name for its status, and the in-flight gauge comes back to zero.
/// </summary>
public sealed class ExtProcStreamMetricsTests : IDisposable
{
    private readonly ExtProcStreamMetrics _metrics = new();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<string> _codes = new();
    private readonly ConcurrentQueue<double> _durations = new();

    public ExtProcStreamMetricsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, _metrics.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            if (instrument.Name == "llm_d_epp_extproc_streams_total")
            {
                _codes.Enqueue((string)tags[0].Value!);
            }
        });
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) => _durations.Enqueue(value));
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _metrics.Dispose();
    }

    [Fact]
    public async Task EveryEnd_CountedUnderItsGoCodeName_AndInflightReturnsToZero()
    {
        await using var server = await ExtProcTestServer.StartAsync(
            new SingleHandlerProcessor(new EndsHowTheRequestSays()), options: new ExtProcOptions { StreamMetrics = _metrics });

        // OK: a whole exchange.
        await using (var ok = await server.Client.StartAsync())
        {
            await ok.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(path: "/ok", endOfStream: true));
            await ok.ReadRequiredAsync();
            await ok.CompleteAsync();
            Assert.True((await ok.GetStatusAsync()).IsOk);
        }

        // InvalidArgument: Envoy breaking the protocol (a second request_headers).
        await using (var bad = await server.Client.StartAsync())
        {
            await bad.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(path: "/ok", endOfStream: true));
            await bad.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(path: "/ok", endOfStream: true));
            Assert.Equal(Runtime.TestSupport.Grpc.GrpcStatusCode.InvalidArgument, (await bad.GetStatusAsync()).Code);
        }

        // Internal: the processor crashes.
        await using (var crash = await server.Client.StartAsync())
        {
            await crash.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(path: "/crash"));
            Assert.Equal(Runtime.TestSupport.Grpc.GrpcStatusCode.Internal, (await crash.GetStatusAsync()).Code);
        }

        // Canceled: the client resets a stream that is waiting for more.
        var reset = await server.Client.StartAsync();
        await reset.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(path: "/hold"));
        await WaitUntilAsync(() => _metrics.Inflight == 1);
        reset.Abort();
        await reset.DisposeAsync();

        // DeadlineExceeded: grpc-timeout passes while the stream waits.
        var bytes = GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders(path: "/hold").ToByteArray());
        await RawGrpcCall.SendAsync(server.Client.Invoker, server.Address, EnvoyExtProcClient.ProcessPath, bytes,
            new RawGrpcCallOptions { Headers = [new("grpc-timeout", "200m")], KeepRequestOpen = true });

        await WaitUntilAsync(() => _codes.Count == 5);
        Assert.Equal(["Canceled", "DeadlineExceeded", "Internal", "InvalidArgument", "OK"], _codes.Order(StringComparer.Ordinal));
        Assert.Equal(5, _durations.Count);
        Assert.All(_durations, d => Assert.InRange(d, 0, 30));
        Assert.Equal(0, _metrics.Inflight);
    }

    [Theory]
    [InlineData(StatusCode.OK, "OK")]
    [InlineData(StatusCode.Cancelled, "Canceled")]
    [InlineData(StatusCode.ResourceExhausted, "ResourceExhausted")]
    [InlineData(StatusCode.Unauthenticated, "Unauthenticated")]
    [InlineData((StatusCode)42, "Code(42)")]
    public void CodeName_IsGrpcGosSpelling(StatusCode code, string name) => Assert.Equal(name, ExtProcStreamMetrics.CodeName(code));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    /// <summary>Replies to <c>/ok</c>, throws on <c>/crash</c>, holds anything else without replying.</summary>
    private sealed class EndsHowTheRequestSays : ExtProcStreamHandler
    {
        public override ValueTask OnRequestHeadersAsync(ExtProcStream stream)
        {
            stream.RequestHeaders.TryGetValue(":path"u8, out var path);
            return path.SequenceEqual("/ok"u8) ? stream.ContinueAsync()
                : path.SequenceEqual("/crash"u8) ? throw new InvalidOperationException("processor bug")
                : ValueTask.CompletedTask;
        }
    }
}
