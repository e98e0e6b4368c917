using System.Globalization;
using System.Text;
using Google.Protobuf;
using Runtime.Proto.Envoy.Config.Core.V3;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using BodySendMode = Runtime.Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode;

namespace Runtime.TestSupport.ExtProc;

/// <summary>
/// Builds ProcessingRequests the way Envoy sends them: header keys lower-case, values in
/// <c>raw_value</c> only, pseudo-headers first, protocol_config only on the first message.
/// </summary>
public static class ExtProcMessages
{
    public const string DefaultAuthority = "gateway.test";
    public const string DefaultPath = "/v1/chat/completions";

    /// <summary>The headers a request carries when the caller gives none besides the pseudo-headers.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> DefaultRequestHeaders { get; } =
    [
        new("content-type", "application/json"),
        new("user-agent", "runtime-tests"),
        new("x-forwarded-proto", "http"),
        new("x-request-id", "7f2a3d1e-5c2b-4d0e-9a61-3b8f1e0c9d42"),
    ];

    /// <summary>
    /// The first message of an exchange: request headers with pseudo-headers and, when any
    /// body mode is given, a protocol_config.
    /// </summary>
    /// <param name="headers">Regular headers; null means <see cref="DefaultRequestHeaders"/>.</param>
    /// <param name="endOfStream">True for a request without body or trailers.</param>
    /// <param name="requestBodyMode">protocol_config.request_body_mode; no protocol_config when both modes are null.</param>
    /// <param name="responseBodyMode">protocol_config.response_body_mode.</param>
    public static ProcessingRequest RequestHeaders(
        string method = "POST",
        string path = DefaultPath,
        string authority = DefaultAuthority,
        string scheme = "http",
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        bool endOfStream = false,
        BodySendMode? requestBodyMode = null,
        BodySendMode? responseBodyMode = null)
    {
        var map = new HeaderMap();
        map.Headers.Add(Header(":authority", authority));
        map.Headers.Add(Header(":path", path));
        map.Headers.Add(Header(":method", method));
        map.Headers.Add(Header(":scheme", scheme));
        map.Headers.AddRange((headers ?? DefaultRequestHeaders).Select(h => Header(h.Key, h.Value)));

        var request = new ProcessingRequest
        {
            RequestHeaders = new HttpHeaders { Headers = map, EndOfStream = endOfStream },
        };
        if (requestBodyMode is not null || responseBodyMode is not null)
        {
            request.ProtocolConfig = new ProtocolConfiguration
            {
                RequestBodyMode = requestBodyMode ?? BodySendMode.None,
                ResponseBodyMode = responseBodyMode ?? BodySendMode.None,
            };
        }

        return request;
    }

    /// <summary>Request headers opening a FULL_DUPLEX_STREAMED exchange in both directions, as GIE deploys.</summary>
    public static ProcessingRequest FullDuplexRequestHeaders(
        string path = DefaultPath,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        bool endOfStream = false) =>
        RequestHeaders(path: path, headers: headers, endOfStream: endOfStream,
            requestBodyMode: BodySendMode.FullDuplexStreamed, responseBodyMode: BodySendMode.FullDuplexStreamed);

    /// <summary>Response headers as Envoy forwards them from upstream, with <c>:status</c> first.</summary>
    /// <param name="headers">Regular headers; null means <c>content-type: application/json</c>.</param>
    public static ProcessingRequest ResponseHeaders(
        int status = 200,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        bool endOfStream = false)
    {
        var map = new HeaderMap();
        map.Headers.Add(Header(":status", status.ToString(CultureInfo.InvariantCulture)));
        map.Headers.AddRange((headers ?? [new("content-type", "application/json")]).Select(h => Header(h.Key, h.Value)));
        return new ProcessingRequest
        {
            ResponseHeaders = new HttpHeaders { Headers = map, EndOfStream = endOfStream },
        };
    }

    public static ProcessingRequest RequestBody(ReadOnlySpan<byte> body, bool endOfStream) =>
        new() { RequestBody = new HttpBody { Body = ByteString.CopyFrom(body), EndOfStream = endOfStream } };

    public static ProcessingRequest ResponseBody(ReadOnlySpan<byte> body, bool endOfStream) =>
        new() { ResponseBody = new HttpBody { Body = ByteString.CopyFrom(body), EndOfStream = endOfStream } };

    public static ProcessingRequest RequestTrailers(IEnumerable<KeyValuePair<string, string>> trailers) =>
        new() { RequestTrailers = new HttpTrailers { Trailers = HeaderMap(trailers) } };

    public static ProcessingRequest ResponseTrailers(IEnumerable<KeyValuePair<string, string>> trailers) =>
        new() { ResponseTrailers = new HttpTrailers { Trailers = HeaderMap(trailers) } };

    /// <summary>Body messages for the given chunks, end_of_stream on the last one (or on an extra empty one).</summary>
    /// <param name="endOfStream">False when trailers follow: Envoy then ends the body with the trailers, not a flag.</param>
    /// <param name="finalEmptyEndOfStream">End with an empty <c>HttpBody{end_of_stream}</c>, which Envoy does when the end arrives after the last data.</param>
    public static IReadOnlyList<ProcessingRequest> RequestBodies(
        IReadOnlyList<ReadOnlyMemory<byte>> chunks, bool endOfStream = true, bool finalEmptyEndOfStream = false) =>
        Bodies(chunks, endOfStream, finalEmptyEndOfStream, static (b, eos) => RequestBody(b.Span, eos));

    /// <inheritdoc cref="RequestBodies"/>
    public static IReadOnlyList<ProcessingRequest> ResponseBodies(
        IReadOnlyList<ReadOnlyMemory<byte>> chunks, bool endOfStream = true, bool finalEmptyEndOfStream = false) =>
        Bodies(chunks, endOfStream, finalEmptyEndOfStream, static (b, eos) => ResponseBody(b.Span, eos));

    public static HeaderMap HeaderMap(IEnumerable<KeyValuePair<string, string>> headers)
    {
        var map = new HeaderMap();
        map.Headers.AddRange(headers.Select(h => Header(h.Key, h.Value)));
        return map;
    }

    /// <summary>A header the way Envoy sends it: lower-case key, value in raw_value only.</summary>
    public static HeaderValue Header(string key, string value) => new()
    {
        Key = key.ToLowerInvariant(),
        RawValue = ByteString.CopyFrom(Encoding.UTF8.GetBytes(value)),
    };

    /// <summary>Reads a header value as Envoy does: raw_value, falling back to value.</summary>
    public static string HeaderValueText(HeaderValue header) =>
        header.RawValue.IsEmpty ? header.Value : header.RawValue.ToStringUtf8();

    private static List<ProcessingRequest> Bodies(
        IReadOnlyList<ReadOnlyMemory<byte>> chunks,
        bool endOfStream,
        bool finalEmptyEndOfStream,
        Func<ReadOnlyMemory<byte>, bool, ProcessingRequest> create)
    {
        var messages = new List<ProcessingRequest>(chunks.Count + 1);
        for (var i = 0; i < chunks.Count; i++)
        {
            var last = i == chunks.Count - 1;
            messages.Add(create(chunks[i], endOfStream && last && !finalEmptyEndOfStream));
        }

        if (finalEmptyEndOfStream || (chunks.Count == 0 && endOfStream))
        {
            messages.Add(create(ReadOnlyMemory<byte>.Empty, endOfStream));
        }

        return messages;
    }
}
