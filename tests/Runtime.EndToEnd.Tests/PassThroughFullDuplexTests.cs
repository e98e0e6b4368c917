using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// The default pass-through processor in FULL_DUPLEX_STREAMED mode, as GIE deploys it:
/// Envoy keeps no copy of the body, so every byte must come back in streamed_response, in
/// order, in pieces of at most 62,000 B, with exactly one end_of_stream.
/// </summary>
[Collection(RuntimeServerCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class PassThroughFullDuplexTests(RuntimeServerFixture server)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Process_BodyInThreeChunks_EchoesBodyAfterContinue()
    {
        using var client = server.CreateExtProcClient();
        var body = ChatCompletionBodies.Create(1024);

        var result = await client.RunFullDuplexAsync(new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitAt(body, 100, 101),
        });

        result.EnsureValid();
        Assert.Equal(body, result.Request.StreamedBody);
        Assert.Equal(CommonResponse.Types.ResponseStatus.Continue, result.Request.HeadersResponse!.RequestHeaders.Response.Status);
        Assert.Equal(ProcessingResponse.ResponseOneofCase.RequestHeaders, result.Responses[0].ResponseCase);
    }

    [Fact]
    public async Task Process_220KBodyCutAtOddOffsets_ReassemblesExactBytes()
    {
        using var client = server.CreateExtProcClient();
        var body = ChatCompletionBodies.Create(220_000);

        var result = await client.RunFullDuplexAsync(new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitAt(body, 1, 7, 65_537, 130_000, 219_999),
        });

        result.EnsureValid();
        Assert.Equal(body, result.Request.StreamedBody);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(41)]
    [InlineData(1234)]
    public async Task Process_RandomChunking_ReassemblesExactBytes(int seed)
    {
        using var client = server.CreateExtProcClient();
        var body = ChatCompletionBodies.Create(150_000);

        var result = await client.RunFullDuplexAsync(new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitRandomly(body, 9, seed),
        });

        result.EnsureValid();
        Assert.Equal(body, result.Request.StreamedBody);
    }

    [Fact]
    public async Task Process_SingleChunkOf200000Bytes_EchoedInPiecesOfAtMost62000()
    {
        using var client = server.CreateExtProcClient();
        var body = ChatCompletionBodies.Create(200_000);

        var result = await client.RunFullDuplexAsync(new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = [body],
        });

        // The validator enforces the 62,000 B limit; at least ceil(200000 / 62000) pieces.
        result.EnsureValid();
        Assert.True(result.Request.BodyResponses.Count >= 4, result.Describe());
        Assert.Equal(body, result.Request.StreamedBody);
    }

    [Fact]
    public async Task Process_FinalEmptyEndOfStreamChunk_ExactlyOneEndOfStream()
    {
        using var client = server.CreateExtProcClient();
        var body = ChatCompletionBodies.Create(5_000);

        var result = await client.RunFullDuplexAsync(new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitInto(body, 2),
            FinalEmptyEndOfStream = true,
        });

        result.EnsureValid();
        Assert.Equal(1, result.Request.EndOfStreamCount);
        Assert.Equal(body, result.Request.StreamedBody);
    }

    [Fact]
    public async Task Process_HeadersOnlyRequest_RepliesHeadersResponseOnly()
    {
        using var client = server.CreateExtProcClient();

        var result = await client.RunFullDuplexAsync(new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
        });

        result.EnsureValid();
        Assert.Single(result.Responses);
        Assert.Empty(result.Request.BodyResponses);
    }

    [Fact]
    public async Task Process_RequestTrailers_TrailersResponseAfterEndOfStream()
    {
        using var client = server.CreateExtProcClient();
        var body = ChatCompletionBodies.Create(3_000);

        var result = await client.RunFullDuplexAsync(new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitInto(body, 3),
            Trailers = [new("x-checksum", "abc")],
        });

        result.EnsureValid();
        Assert.Equal(body, result.Request.StreamedBody);
        Assert.Same(result.Request.TrailersResponse, result.Responses[^1]);
    }

    [Fact]
    public async Task Process_ResponsePhaseOnSameStream_EchoesResponseBody()
    {
        using var client = server.CreateExtProcClient();
        var requestBody = ChatCompletionBodies.Create(2_000);
        var events = string.Concat(Enumerable.Repeat("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n", 3000)) + "data: [DONE]\n\n";
        var responseBody = System.Text.Encoding.ASCII.GetBytes(events);

        var result = await client.RunFullDuplexAsync(
            new FullDuplexPhase
            {
                Headers = ExtProcMessages.FullDuplexRequestHeaders(),
                BodyChunks = [requestBody],
            },
            new FullDuplexPhase
            {
                Headers = ExtProcMessages.ResponseHeaders(headers: [new("content-type", "text/event-stream")]),
                BodyChunks = BodyChunks.SplitEvery(responseBody, 16_384),
                Trailers = [new("x-upstream-trailer", "1")],
            });

        result.EnsureValid();
        Assert.Equal(requestBody, result.Request.StreamedBody);
        Assert.Equal(responseBody, result.Response!.StreamedBody);
    }

    [Fact]
    public async Task Process_RequestStillOpen_HeadersResponseAndFirstChunkEchoArriveBeforeBodyEnds()
    {
        using var client = server.CreateExtProcClient();
        await using var exchange = await client.StartAsync();

        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody("{\"model\":"u8, endOfStream: false));
        var headers = await exchange.ReadRequiredAsync(s_timeout);
        var first = await exchange.ReadRequiredAsync(s_timeout);

        // Token streaming needs chunks forwarded as they come, not after the whole body.
        Assert.Equal(ProcessingResponse.ResponseOneofCase.RequestHeaders, headers.ResponseCase);
        Assert.Equal("{\"model\":", first.RequestBody.Response.BodyMutation.StreamedResponse.Body.ToStringUtf8());
        Assert.False(first.RequestBody.Response.BodyMutation.StreamedResponse.EndOfStream);

        await exchange.SendAsync(ExtProcMessages.RequestBody("\"m\"}"u8, endOfStream: true));
        var last = await exchange.ReadRequiredAsync(s_timeout);
        Assert.True(last.RequestBody.Response.BodyMutation.StreamedResponse.EndOfStream);
        await exchange.CompleteAsync();
        Assert.Empty(await exchange.ReadToEndAsync(s_timeout));
        var status = await exchange.GetStatusAsync();
        Assert.True(status.IsOk, status.ToString());
    }

    [Fact]
    public async Task Process_HundredSequentialExchangesOnOneConnection_AllValid()
    {
        using var client = server.CreateExtProcClient();
        var body = ChatCompletionBodies.Create(4_096);

        for (var i = 0; i < 100; i++)
        {
            var result = await client.RunFullDuplexAsync(new FullDuplexPhase
            {
                Headers = ExtProcMessages.FullDuplexRequestHeaders(),
                BodyChunks = BodyChunks.SplitInto(body, 2),
            });
            result.EnsureValid();
            Assert.Equal(body, result.Request.StreamedBody);
        }
    }

    /// <summary>
    /// SPEC §10: Envoy multiplexes thousands of long-lived streams over a handful of
    /// connections; every stream here stays open until all of them have been answered.
    /// </summary>
    [Fact]
    public async Task Process_TenThousandOpenStreamsOverFourConnections_AllComplete()
    {
        const int connections = 4;
        const int streamsPerConnection = 2_500;
        var clients = Enumerable.Range(0, connections).Select(_ => server.CreateExtProcClient()).ToArray();
        var exchanges = new List<ExtProcExchange>(connections * streamsPerConnection);
        try
        {
            for (var c = 0; c < connections; c++)
            {
                for (var i = 0; i < streamsPerConnection; i++)
                {
                    // The handler queues a stream beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS.
                    using var startTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    try
                    {
                        exchanges.Add(await clients[c].StartAsync(startTimeout.Token));
                    }
                    catch (OperationCanceledException) when (startTimeout.IsCancellationRequested)
                    {
                        Assert.Fail($"Stream {i + 1} on connection {c + 1} did not open within 30 s: the server allows fewer than "
                            + $"{streamsPerConnection} concurrent streams per connection.");
                    }
                }
            }

            await Parallel.ForEachAsync(exchanges, async (exchange, ct) =>
            {
                await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(), ct);
                await exchange.SendAsync(ExtProcMessages.RequestBody("{\"model\":\"m\","u8, endOfStream: false), ct);
            });

            // All open at once: each has its headers reply while its body is still unfinished.
            await Parallel.ForEachAsync(exchanges, async (exchange, ct) =>
            {
                var reply = await exchange.ReadRequiredAsync(TimeSpan.FromSeconds(60), ct);
                Assert.Equal(ProcessingResponse.ResponseOneofCase.RequestHeaders, reply.ResponseCase);
            });

            await Parallel.ForEachAsync(exchanges, async (exchange, ct) =>
            {
                await exchange.SendAsync(ExtProcMessages.RequestBody("\"stream\":true}"u8, endOfStream: true), ct);
                await exchange.CompleteAsync();
                var rest = await exchange.ReadToEndAsync(TimeSpan.FromSeconds(60), ct);
                var body = string.Concat(rest.Select(r => r.RequestBody.Response.BodyMutation.StreamedResponse.Body.ToStringUtf8()));
                Assert.Equal("{\"model\":\"m\",\"stream\":true}", body);
                var status = await exchange.GetStatusAsync(TimeSpan.FromSeconds(60), ct);
                Assert.True(status.IsOk, status.ToString());
            });
        }
        finally
        {
            await Task.WhenAll(exchanges.Select(e => e.DisposeAsync().AsTask()));
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }
}
