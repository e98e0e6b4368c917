using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Stream;
using Runtime.Primitives.Buffers;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.TestSupport.ExtProc;
using Xunit;

namespace Runtime.ExtProc.Tests.Stream;

/// <summary>
/// A reply whose flush waits (Kestrel's frame writer has not taken it yet) no longer holds the
/// received message: the message goes back to the pool as soon as the reply is in the pipe, and
/// the stream reads nothing more until the flush is done. Driven through
/// <see cref="ExtProcService.ProcessAsync"/> with a writer whose flushes the test completes.
/// </summary>
[Collection(PooledBufferAccountingCollection.Name)]
public sealed class ExtProcPendingFlushTests
{
    private static readonly byte[] s_body = Enumerable.Range(0, 200_000).Select(i => (byte)('a' + (i % 26))).ToArray();

    [Fact]
    public async Task ReplyWaitingForItsFlush_ReceivedMessageIsBack_NextMessageNotReadUntilFlushed()
    {
        var before = PooledBuffers.Outstanding;
        var (service, reader, writer, call) = StartEchoOfOneBody();

        // The headers reply waits for its flush: the headers message is back, the body not yet read.
        await writer.FlushRequested(1);
        Assert.Equal(1, reader.Reads);
        await Eventually(() => reader.Current.Message.IsEmpty, "the headers message is still held");

        writer.Flush(1);
        await writer.FlushRequested(2);

        // The echo (four pieces, one flush) is in the pipe; the 200 KB message is already back.
        Assert.Equal(2, reader.Reads);
        await Eventually(() => reader.Current.Message.IsEmpty, "the body message is held while its echo waits for the flush");
        Assert.Equal(s_body, writer.EchoedRequestBody());
        Assert.False(call.IsCompleted);

        writer.Flush(2);
        await call.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, reader.Reads);
        Assert.Equal(0, service.ActiveStreams);
        service.Dispose();
        Assert.Equal(before, PooledBuffers.Outstanding);
    }

    [Fact]
    public async Task PendingFlushFails_CallEndsWithItsError_NothingMoreRead_BuffersBack()
    {
        var before = PooledBuffers.Outstanding;
        var (service, reader, writer, call) = StartEchoOfOneBody();
        await writer.FlushRequested(1);
        writer.Fail(1, new IOException("client went away"));

        await Assert.ThrowsAsync<IOException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, reader.Reads);
        Assert.Equal(0, service.ActiveStreams);
        service.Dispose();
        Assert.Equal(before, PooledBuffers.Outstanding);
    }

    /// <summary>The message goes back just after the write returns, on the stream's thread: poll for it.</summary>
    private static async Task Eventually(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        Assert.True(condition(), failure);
    }

    /// <summary>A pass-through call over the headers and one 200 KB body message, with flushes the test completes.</summary>
    private static (ExtProcService Service, ScriptedReader Reader, HeldFlushWriter Writer, Task Call) StartEchoOfOneBody()
    {
        var reader = new ScriptedReader(ExtProcMessages.FullDuplexRequestHeaders(), ExtProcMessages.RequestBody(s_body, endOfStream: true));
        var writer = new HeldFlushWriter();
        var service = new ExtProcService(new PassThroughProcessor(), new ExtProcOptions());
        return (service, reader, writer, service.ProcessAsync(reader, writer, new TestCallContext()));
    }

    /// <summary>Hands out the given requests, copied into pooled payloads as Grpc.AspNetCore's marshaller does.</summary>
    private sealed class ScriptedReader(params ProcessingRequest[] requests) : IAsyncStreamReader<ExtProcPayload>
    {
        public int Reads { get; private set; }

        public ExtProcPayload Current { get; private set; } = null!;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (Reads++ >= requests.Length)
            {
                return Task.FromResult(false);
            }

            Current = ExtProcPayload.Copy(new ReadOnlySequence<byte>(requests[Reads - 1].ToByteArray()));
            return Task.FromResult(true);
        }
    }

    /// <summary>
    /// Serializes each reply at once, as Grpc.AspNetCore does; a write that flushes returns a task the
    /// test completes (a buffered write, BufferHint, completes at once).
    /// </summary>
    private sealed class HeldFlushWriter : IServerStreamWriter<ProcessingResponseBuilder>
    {
        private readonly List<TaskCompletionSource> _flushes = [];
        private readonly List<byte[]> _replies = [];
        private readonly SemaphoreSlim _flushRequested = new(0);

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(ProcessingResponseBuilder message)
        {
            var bytes = new ArrayBufferWriter<byte>();
            message.WriteTo(bytes);
            _replies.Add(bytes.WrittenSpan.ToArray());
            if (WriteOptions?.Flags.HasFlag(WriteFlags.BufferHint) == true)
            {
                return Task.CompletedTask;
            }

            var flush = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _flushes.Add(flush);
            _flushRequested.Release();
            return flush.Task;
        }

        public async Task FlushRequested(int count)
        {
            while (_flushes.Count < count)
            {
                Assert.True(await _flushRequested.WaitAsync(TimeSpan.FromSeconds(10)), $"flush {count} was never requested");
            }
        }

        public void Flush(int number) => _flushes[number - 1].SetResult();

        public void Fail(int number, Exception error) => _flushes[number - 1].SetException(error);

        public byte[] EchoedRequestBody() =>
            _replies.Select(ProcessingResponse.Parser.ParseFrom)
                .Where(r => r.ResponseCase == ProcessingResponse.ResponseOneofCase.RequestBody)
                .SelectMany(r => r.RequestBody.Response.BodyMutation.StreamedResponse.Body.ToByteArray())
                .ToArray();
    }

    private sealed class TestCallContext : ServerCallContext
    {
        protected override string MethodCore => ExtProcService.ProcessPath;

        protected override string HostCore => "127.0.0.1";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
