using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Kubernetes.Access;

namespace Runtime.ControlPlane.Kubernetes.Api;

/// <summary>An API server answered with an error status (its Status message, when it sent one).</summary>
internal sealed class KubernetesApiException : Exception
{
    public KubernetesApiException()
    {
    }

    public KubernetesApiException(string message)
        : base(message)
    {
    }

    public KubernetesApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public KubernetesApiException(int statusCode, string message)
        : base(message)
    {
        StatusCode = statusCode;
    }

    public int StatusCode { get; }
}

/// <summary>
/// Requests to one API server: GETs of JSON documents (list pages) and streaming responses
/// (watches), POSTs of review objects (TokenReview, SubjectAccessReview) and of Leases, and PUTs of Leases. Adds the bearer token
/// to every request and re-reads a rotated token once on 401.
/// </summary>
internal sealed class KubernetesApiClient : IDisposable
{
    private const int MaxErrorBody = 64 * 1024;
    private readonly HttpClient _http;
    private readonly BearerTokens _tokens;
    private readonly string _server;

    public KubernetesApiClient(KubernetesAccess access, TimeProvider time, ILogger? logger = null)
    {
        _http = new HttpClient(access.CreateHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _tokens = new BearerTokens(access, time, logger);
        _server = access.Server.ToString().TrimEnd('/');
    }

    /// <summary>GETs <paramref name="pathAndQuery"/> and parses the whole body (a list page).</summary>
    public async Task<JsonDocument> GetJsonAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(pathAndQuery, cancellationToken).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await JsonDocument.ParseAsync(body, default, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>GETs <paramref name="pathAndQuery"/> once its headers arrived; the caller reads (and disposes) the body as it streams.</summary>
    public async Task<HttpResponseMessage> GetStreamingAsync(string pathAndQuery, CancellationToken cancellationToken) =>
        await SendAsync(pathAndQuery, cancellationToken).ConfigureAwait(false);

    /// <summary>POSTs a JSON object to <paramref name="path"/> (a create) and parses the object the server answers with.</summary>
    public async Task<JsonDocument> PostJsonAsync(string path, byte[] json, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(path, cancellationToken, json).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await JsonDocument.ParseAsync(body, default, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>PUTs a whole JSON object to <paramref name="path"/> (an update; 409 when its resourceVersion is stale) and parses the object the server answers with.</summary>
    public async Task<JsonDocument> PutJsonAsync(string path, byte[] json, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(path, cancellationToken, json, HttpMethod.Put).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await JsonDocument.ParseAsync(body, default, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Throws <see cref="KubernetesApiException"/> with the Status message unless the response succeeded.</summary>
    public static async Task ThrowIfFailedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var message = $"HTTP {status} {response.ReasonPhrase}";
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (body.Length is > 0 and <= MaxErrorBody)
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("message", out var text) && text.ValueKind == JsonValueKind.String)
                {
                    message = $"{message}: {text.GetString()}";
                }
            }
        }
        catch (JsonException)
        {
            // Not a Status object (a proxy's error page): the status line says enough.
        }
        catch (HttpRequestException)
        {
        }

        throw new KubernetesApiException(status, message);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A GET, or with <paramref name="json"/> a POST (or <paramref name="method"/>) of that body.</summary>
    private async Task<HttpResponseMessage> SendAsync(string pathAndQuery, CancellationToken cancellationToken, byte[]? json = null, HttpMethod? method = null)
    {
        var response = await SendOnceAsync(pathAndQuery, json, method, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized && _tokens.CanRefresh)
        {
            // The token file may have rotated since we last read it.
            response.Dispose();
            _tokens.Invalidate();
            response = await SendOnceAsync(pathAndQuery, json, method, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    private async Task<HttpResponseMessage> SendOnceAsync(string pathAndQuery, byte[]? json, HttpMethod? method, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method ?? (json is null ? HttpMethod.Get : HttpMethod.Post), new Uri(_server + pathAndQuery, UriKind.Absolute));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (json is not null)
        {
            request.Content = new ByteArrayContent(json);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        if (_tokens.Current() is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
    }
}
