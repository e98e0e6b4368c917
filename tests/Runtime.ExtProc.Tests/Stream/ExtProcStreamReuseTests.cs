using System.Buffers;
using System.Runtime.CompilerServices;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Stream;
using Xunit;

namespace Runtime.ExtProc.Tests.Stream;

public sealed class ExtProcStreamReuseTests
{
    [Fact]
    public void Reset_LetsGoOfTheLastRepliedBody()
    {
        // A pooled stream outlives its call: the body its last reply echoed must not stay reachable
        // through it, or every pooled stream pins a received message after the pool dropped it.
        var stream = new ExtProcStream();
        var body = ReplyWithBodyOf(stream, 256 * 1024);

        stream.Reset();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(body.IsAlive, "the pooled stream still references the last body it replied with");
        GC.KeepAlive(stream);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference ReplyWithBodyOf(ExtProcStream stream, int length)
    {
        var array = new byte[length];
        stream.BeginResponse(ProcessingResponseKind.RequestBody).SetStreamedBody(new ReadOnlySequence<byte>(array), endOfStream: false);
        return new WeakReference(array);
    }
}
