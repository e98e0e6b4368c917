using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Runtime.Benchmarks.Infrastructure;
using Runtime.ExtProc.Buffers;
using Runtime.ExtProc.Stream;

namespace Runtime.Benchmarks.Transport;

/// <summary>
/// What a received message costs us: reading Envoy's 16 KB body chunks straight off the request
/// pipe (<see cref="PipeRequestMessages"/>, how calls are read); for a compressed call,
/// Grpc.AspNetCore's marshaller copying each ProcessingRequest out of Kestrel's pipe into a pooled
/// array; and accumulating a 220 KB body into the pooled <see cref="BodyBuffer"/>. All must stay
/// at 0 B/op.
/// </summary>
[MemoryDiagnoser]
public class ReceivedMessageBenchmark
{
    private readonly BodyBuffer _body = new();
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0));
    private readonly PipeRequestMessages _messages = new();
    private byte[] _frames16K = [];
    private ReadOnlySequence<byte> _message62K;
    private ReadOnlySequence<byte> _body220K;

    [GlobalSetup]
    public void Setup()
    {
        _message62K = PipeSegments.Split(new byte[62_008], firstSegmentLength: 1000);
        _body220K = PipeSegments.Split(new byte[220_000], firstSegmentLength: 1000);

        // 14 gRPC frames of 16,384-byte messages: a 220 KB prompt in Envoy's chunks.
        _frames16K = new byte[14 * (5 + 16_384)];
        for (var offset = 0; offset < _frames16K.Length; offset += 5 + 16_384)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_frames16K.AsSpan(offset + 1), 16_384);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _body.Reset();

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(CopiedWholeMessage))]
    public long CopyReceivedMessage62K()
    {
        var payload = ExtProcPayload.Copy(_message62K);
        var length = payload.Message.Length;
        payload.Return();
        return length;
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(AccumulatedWholeBody))]
    public long AccumulateBody220K()
    {
        _body.Reset();
        _body.Append(_body220K);
        return _body.AsSequence().Length;
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(ReadEveryMessage))]
    public long ReadMessagesOffThePipe220K()
    {
        _pipe.Writer.Write(_frames16K);
        _pipe.Writer.Complete();
        _messages.Start(_pipe.Reader, int.MaxValue);
        long total = 0;
        while (Now(_messages.MoveNextAsync()))
        {
            total += _messages.Current.Length;
        }

        _messages.Stop();
        _pipe.Reader.Complete();
        _pipe.Reset();
        return total;
    }

    private static bool Now(ValueTask<bool> next) =>
        next.IsCompletedSuccessfully ? next.Result : throw new InvalidOperationException("Every message was in the pipe already.");

    private bool ReadEveryMessage(long length) => length == 14 * 16_384;

    private bool CopiedWholeMessage(long length) => length == _message62K.Length;

    private bool AccumulatedWholeBody(long length) => length == _body220K.Length;
}
