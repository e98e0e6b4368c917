namespace Runtime.Telemetry.Hosting;

/// <summary>
/// Decides whether a request to the metrics listener may be served (e.g. the Kubernetes API's
/// TokenReview and SubjectAccessReview, as the Go binaries' <c>--metrics-endpoint-auth</c> does).
/// It sees every request on the listener, before the path is looked at, as Go's filter wraps the
/// whole metrics server.
/// </summary>
internal interface IMetricsRequestGate
{
    /// <param name="authorization">The <c>Authorization</c> header, or null when absent.</param>
    /// <returns>Null to serve the request; otherwise the refusal to answer with.</returns>
    ValueTask<MetricsRefusal?> CheckAsync(string? authorization, string method, string path, CancellationToken cancellationToken);
}

/// <summary>A refused metrics request: its status code and plain-text message.</summary>
internal sealed record MetricsRefusal(int StatusCode, string Message);
