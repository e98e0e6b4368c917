using System.Buffers;
using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Runtime.Benchmarks.Infrastructure;
using Runtime.ExtProc.Buffers;
using Runtime.Transport.Grpc;

namespace Runtime.Benchmarks.Transport;

/// <summary>
/// The gRPC frame reader over what Kestrel hands us for one full-duplex exchange (a headers
/// message and a 220 KB body in GIE-sized chunks, in 4 KB pipe blocks), and accumulating that
/// body into the pooled <see cref="BodyBuffer"/>. Both must stay at 0 B/op.
/// </summary>
[MemoryDiagnoser]
public class GrpcFramingBenchmark
{
    private readonly BodyBuffer _body = new();
    private ReadOnlySequence<byte> _exchange;

    [GlobalSetup]
    public void Setup()
    {
        var frames = new List<byte>();
        AddFrame(frames, 900);
        for (var remaining = 220_000; remaining > 0; remaining -= 62_000)
        {
            AddFrame(frames, Math.Min(remaining, 62_000) + 8);
        }

        _exchange = PipeSegments.Split([.. frames], firstSegmentLength: 1000);
    }

    [GlobalCleanup]
    public void Cleanup() => _body.Reset();

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(ReadEveryMessage))]
    public long ReadFramesOfOneExchange()
    {
        var buffer = _exchange;
        long total = 0;
        while (GrpcFraming.TryReadMessage(ref buffer, int.MaxValue, out var message))
        {
            total += message.Length;
        }

        return total;
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(AccumulatedWholeExchange))]
    public long AccumulateBody220K()
    {
        _body.Reset();
        _body.Append(_exchange);
        return _body.AsSequence().Length;
    }

    // 900 B of headers plus the 220,000 B body in four messages, each with its 8 B of field framing.
    private static bool ReadEveryMessage(long total) => total == 900 + 220_000 + (4 * 8);

    private bool AccumulatedWholeExchange(long length) => length == _exchange.Length;

    private static void AddFrame(List<byte> frames, int length)
    {
        Span<byte> prefix = stackalloc byte[5];
        prefix[0] = 0;
        BinaryPrimitives.WriteInt32BigEndian(prefix[1..], length);
        frames.AddRange(prefix);
        frames.AddRange(new byte[length]);
    }
}
