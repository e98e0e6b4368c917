using System.Net;
using System.Net.Http.Headers;

namespace Runtime.TestSupport.Grpc;

/// <summary>HTTP/2 plumbing shared by the gRPC test clients.</summary>
public static class GrpcHttp
{
    /// <summary>
    /// A handler that speaks cleartext HTTP/2 with prior knowledge (the request's version
    /// policy does that) over one connection, as Envoy multiplexes ext_proc streams.
    /// </summary>
    /// <param name="enableMultipleHttp2Connections">Open extra connections when the server's stream limit is reached.</param>
    public static SocketsHttpHandler CreateHandler(bool enableMultipleHttp2Connections = false) => new()
    {
        EnableMultipleHttp2Connections = enableMultipleHttp2Connections,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        UseProxy = false,

        // Envoy advertises large windows; a small receive window would throttle
        // multi-hundred-KB streamed bodies coming back.
        InitialHttp2StreamWindowSize = 8 * 1024 * 1024,
    };

    /// <summary>Builds a gRPC POST: HTTP/2 exact, <c>content-type: application/grpc</c>, <c>te: trailers</c>.</summary>
    /// <param name="headers">
    /// Extra or overriding headers. <c>content-type</c> replaces the default; other names are
    /// added as given (for example <c>grpc-timeout</c>, <c>grpc-encoding</c>).
    /// </param>
    internal static HttpRequestMessage CreateRequest(Uri address, HttpContent content, IEnumerable<KeyValuePair<string, string>>? headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, address)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TE.ParseAdd("trailers");
        content.Headers.ContentType = new MediaTypeHeaderValue(GrpcHeaders.ContentType);

        foreach (var (name, value) in headers ?? [])
        {
            if (string.Equals(name, "content-type", StringComparison.OrdinalIgnoreCase))
            {
                content.Headers.Remove("content-type");
                content.Headers.TryAddWithoutValidation("content-type", value);
            }
            else if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return request;
    }

    internal static Task<HttpResponseMessage> SendAsync(HttpMessageInvoker invoker, HttpRequestMessage request, CancellationToken cancellationToken) =>
        invoker is HttpClient client

            // HttpClient's own SendAsync(request, token) buffers the whole response; a
            // streaming call must get control back at the response headers.
            ? client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
            : invoker.SendAsync(request, cancellationToken);

    internal static Dictionary<string, IReadOnlyList<string>> Flatten(params IEnumerable<HttpHeaders> sources)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var source in sources)
        {
            foreach (var (name, values) in source)
            {
                result[name] = [.. values];
            }
        }

        return result;
    }
}
