using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Bbr.Processors;
using Runtime.ExtProc.Buffers;
using Runtime.ExtProc.Stream;
using Runtime.Primitives.Buffers;
using Runtime.TestSupport.ExtProc;
using Xunit;

namespace Runtime.Bbr.Tests.Processing;

/// <summary>
/// <c>--max-buffered-body-bytes</c> through the request skeleton both routers share: a body that
/// would pass the ceiling is answered 429 with GIE's body and counted, its buffers go back at
/// once, and requests that fit keep being served.
/// </summary>
[Collection(nameof(BbrPooledBufferCounter))]
public sealed class BodyBudgetTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private static byte[] Chat(int promptBytes) => Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{"role":"user","content":"{{new string('x', promptBytes)}}"}]}""");

    [Fact]
    public async Task BodyPastTheCeiling_429ResourceExhausted_CountedAndReleased_NextRequestServed()
    {
        var before = PooledBuffers.Outstanding;
        var budget = new BodyBufferBudget(64 * 1024);
        var chain = new BbrChain([new BodyFieldToHeaderProcessor("body-field-to-header")], []);
        await using var server = await ExtProcTestServer.StartAsync(new BbrExtProcProcessor(chain, new BbrMetrics(), NullLogger.Instance), options: new ExtProcOptions { BodyBudget = budget });

        var big = await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = BodyChunks.SplitEvery(Chat(200_000), 16 * 1024) }, timeout: s_timeout);

        Assert.Equal(429, (int)big.ImmediateResponse!.Status.Code);
        Assert.StartsWith("inference error: ResourceExhausted - request body buffers are full", big.ImmediateResponse.Body, StringComparison.Ordinal);
        Assert.Equal(1, budget.Rejected);

        var small = (await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = BodyChunks.SplitEvery(Chat(30_000), 16 * 1024) }, timeout: s_timeout)).EnsureValid();
        Assert.Null(small.ImmediateResponse);
        Assert.Equal("m", small.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-model-name").Header.RawValue.ToStringUtf8());
        await server.AssertNothingHeldAsync(before);
        Assert.Equal(0, budget.Held);
    }

    [Fact]
    public async Task RoutedBody_LeavesTheBudget_WhileTheStreamWaitsForTheResponse()
    {
        // The stream lives on for the whole upstream response (minutes for a long generation); the
        // gathered prompt must not stay held, or in-flight generations would fill the ceiling.
        var budget = new BodyBufferBudget(1024 * 1024);
        var chain = new BbrChain([new BodyFieldToHeaderProcessor("body-field-to-header")], []);
        await using var server = await ExtProcTestServer.StartAsync(new BbrExtProcProcessor(chain, new BbrMetrics(), NullLogger.Instance), options: new ExtProcOptions { BodyBudget = budget });
        await using var exchange = await server.Client.StartAsync();

        var body = Chat(200_000);
        await exchange.SendAllAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = BodyChunks.SplitEvery(body, 16 * 1024) }.ToMessages(Runtime.TestSupport.ExtProc.ExtProcDirection.Request));
        var headersReply = await exchange.ReadRequiredAsync(s_timeout);
        Assert.Equal("m", headersReply.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-model-name").Header.RawValue.ToStringUtf8());
        var echoed = 0;
        while (echoed < body.Length)
        {
            echoed += (await exchange.ReadRequiredAsync(s_timeout)).RequestBody.Response.BodyMutation.StreamedResponse.Body.Length;
        }

        Assert.Equal(body.Length, echoed);
        Assert.Equal(0, budget.Held);
    }

    [Fact]
    public void BodyBuffer_ChargesHeldArrays_RefusesPastTheLimit_ReleasesOnReset()
    {
        var budget = new BodyBufferBudget(48 * 1024);
        var buffer = new BodyBuffer { Budget = budget };

        Assert.True(buffer.TryAppend(new System.Buffers.ReadOnlySequence<byte>(new byte[16 * 1024])));
        Assert.Equal(16 * 1024, budget.Held);
        Assert.True(buffer.TryAppend(new System.Buffers.ReadOnlySequence<byte>(new byte[100])));
        Assert.Equal(48 * 1024, budget.Held); // the second segment is twice the first
        Assert.False(buffer.TryAppend(new System.Buffers.ReadOnlySequence<byte>(new byte[40 * 1024])));
        Assert.Equal(48 * 1024, budget.Held);

        buffer.Reset();
        Assert.Equal(0, budget.Held);
    }
}
