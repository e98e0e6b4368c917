using System.Buffers;
using System.Text;
using Runtime.Endpoints;

namespace Runtime.Scheduling.Tests.Support;

internal static class TestEndpoints
{
    public static EndpointState State(int i) => new(new Endpoint($"pod-{i:D3}", $"10.0.{i / 250}.{(i % 250) + 1}", 8000));

    public static EndpointState[] States(int count) => Enumerable.Range(0, count).Select(State).ToArray();

    public static EndpointState With(this EndpointState state, TimeProvider time, int waiting = 0, double kv = 0, int running = 0)
    {
        state.PublishMetrics(new EndpointMetrics { WaitingQueueSize = waiting, KvCacheUsage = kv, RunningRequests = running, UpdatedAtTimestamp = time.GetTimestamp() });
        return state;
    }

    public static SchedulingRequest Request(string prompt, string model = "llama", string salt = "") => new()
    {
        TargetModel = model,
        Prompt = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(prompt)),
        CacheSalt = salt.Length == 0 ? default : new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(salt)),
    };

    public static string LongPrompt(int seed, int length = 4096)
    {
        var random = new Random(seed);
        var chars = new char[length];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = (char)('a' + random.Next(26));
        }

        return new string(chars);
    }

    /// <summary>The same bytes split into segments of <paramref name="segmentSize"/>.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] bytes, int segmentSize)
    {
        Segment? first = null;
        Segment? last = null;
        for (var offset = 0; offset < bytes.Length; offset += segmentSize)
        {
            var memory = bytes.AsMemory(offset, Math.Min(segmentSize, bytes.Length - offset));
            var segment = new Segment(memory, last?.RunningIndex + last?.Memory.Length ?? 0);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.SetNext(segment);
            }

            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
