using System.Net;

namespace Runtime.TestSupport.Grpc;

/// <summary>Options for <see cref="RawGrpcCall"/>.</summary>
public sealed record RawGrpcCallOptions
{
    /// <summary>Extra request headers: grpc-timeout, grpc-encoding, a replacement content-type...</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>
    /// Keep the request side open after writing the bytes (no END_STREAM), for cases the
    /// server must end on its own, such as an exceeded grpc-timeout.
    /// </summary>
    public bool KeepRequestOpen { get; init; }

    /// <summary>How long to wait for the server to end the call.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>Everything a raw call saw on the wire.</summary>
public sealed record RawGrpcResult(
    HttpStatusCode? HttpStatus,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Headers,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Trailers,
    IReadOnlyList<GrpcFrame> Frames,
    GrpcCallStatus Status,
    Exception? RequestWriteError)
{
    public GrpcStatusCode? GrpcStatus => Status.Code;

    public string? GrpcMessage => Status.Message;

    public bool IsTrailersOnly => Status.Source == GrpcStatusSource.TrailersOnly;

    public override string ToString() =>
        $"HTTP {(int?)HttpStatus}, {Frames.Count} response message(s), {Status}"
        + (RequestWriteError is null ? string.Empty : $", request write failed: {RequestWriteError.Message}");
}

/// <summary>
/// Sends arbitrary bytes as a gRPC request body on any path with any headers: bad
/// prefixes, truncated frames, the compressed flag, oversize length prefixes, garbage
/// payloads. Reports the HTTP status, headers, trailers, messages and grpc-status.
/// </summary>
public static class RawGrpcCall
{
    public static async Task<RawGrpcResult> SendAsync(
        HttpMessageInvoker invoker,
        Uri baseAddress,
        string path,
        ReadOnlyMemory<byte> body,
        RawGrpcCallOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new RawGrpcCallOptions();
        await using var call = await GrpcDuplexCall.StartAsync(invoker, new Uri(baseAddress, path), options.Headers, cancellationToken: cancellationToken);

        // An early error may end the call before or while the body goes out; that is a
        // result to report, not a failure of the helper.
        Exception? writeError = null;
        try
        {
            if (!body.IsEmpty)
            {
                await call.SendRawAsync(body, cancellationToken);
            }

            if (!options.KeepRequestOpen)
            {
                await call.CompleteRequestAsync();
            }
        }
        catch (GrpcCallEndedException ex)
        {
            writeError = ex;
        }

        var status = await call.GetStatusAsync(options.Timeout, cancellationToken);
        var frames = new List<GrpcFrame>();
        while (await call.ReadFrameAsync(TimeSpan.FromSeconds(1), cancellationToken) is { } frame)
        {
            frames.Add(frame);
        }

        var response = call.ResponseHeaders.IsCompletedSuccessfully ? call.ResponseHeaders.Result : null;
        var headers = response is null ? new() : GrpcHttp.Flatten(response.Headers, response.Content.Headers);
        var trailers = response is null ? new() : GrpcHttp.Flatten(response.TrailingHeaders);
        return new RawGrpcResult(response?.StatusCode, headers, trailers, frames, status, writeError);
    }
}
