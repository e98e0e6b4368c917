using System.Buffers;
using BenchmarkDotNet.Attributes;
using Runtime.Benchmarks.Infrastructure;
using Runtime.ExtProc.Buffers;
using Runtime.ExtProc.Stream;

namespace Runtime.Benchmarks.Transport;

/// <summary>
/// What a received message costs us on Grpc.AspNetCore: its marshaller copies each
/// ProcessingRequest out of Kestrel's pipe (4 KB blocks) into a pooled array before the
/// library advances the pipe; and accumulating a 220 KB body into the pooled
/// <see cref="BodyBuffer"/>. Both must stay at 0 B/op.
/// </summary>
[MemoryDiagnoser]
public class ReceivedMessageBenchmark
{
    private readonly BodyBuffer _body = new();
    private ReadOnlySequence<byte> _message62K;
    private ReadOnlySequence<byte> _body220K;

    [GlobalSetup]
    public void Setup()
    {
        _message62K = PipeSegments.Split(new byte[62_008], firstSegmentLength: 1000);
        _body220K = PipeSegments.Split(new byte[220_000], firstSegmentLength: 1000);
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

    private bool CopiedWholeMessage(long length) => length == _message62K.Length;

    private bool AccumulatedWholeBody(long length) => length == _body220K.Length;
}
