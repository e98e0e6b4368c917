using System.Net;

namespace Runtime.TestSupport.Grpc;

/// <summary>Where a call's <c>grpc-status</c> came from.</summary>
public enum GrpcStatusSource
{
    /// <summary>The call ended without any <c>grpc-status</c> (reset, connection loss, or a non-gRPC reply).</summary>
    Missing,

    /// <summary>Trailing HEADERS frame after the response messages.</summary>
    Trailers,

    /// <summary>A trailers-only response: the status rode on the only HEADERS frame.</summary>
    TrailersOnly,
}

/// <summary>How a gRPC call ended, as seen on the wire.</summary>
/// <param name="HttpStatus">The HTTP <c>:status</c>, or null when no response headers arrived.</param>
/// <param name="Code">The <c>grpc-status</c>, or null when it was missing.</param>
/// <param name="Message">The percent-decoded <c>grpc-message</c>, if any.</param>
/// <param name="Source">Where the status was found.</param>
/// <param name="TransportError">The exception that ended the call abnormally (RST_STREAM, connection loss, bad framing).</param>
public sealed record GrpcCallStatus(
    HttpStatusCode? HttpStatus,
    GrpcStatusCode? Code,
    string? Message,
    GrpcStatusSource Source,
    Exception? TransportError)
{
    public bool IsOk => Code == GrpcStatusCode.OK && TransportError is null;

    public override string ToString()
    {
        var code = Code is { } c ? $"{c} ({(int)c})" : "<missing>";
        var text = $"grpc-status {code}, grpc-message '{Message}', source {Source}, HTTP {(int?)HttpStatus}";
        return TransportError is null ? text : $"{text}, transport error: {TransportError.GetType().Name}: {TransportError.Message}";
    }

    internal static GrpcCallStatus FromResponse(HttpResponseMessage response)
    {
        if (TryRead(response.TrailingHeaders, out var code, out var message))
        {
            return new GrpcCallStatus(response.StatusCode, code, message, GrpcStatusSource.Trailers, null);
        }

        if (TryRead(response.Headers, out code, out message))
        {
            return new GrpcCallStatus(response.StatusCode, code, message, GrpcStatusSource.TrailersOnly, null);
        }

        return new GrpcCallStatus(response.StatusCode, null, null, GrpcStatusSource.Missing, null);
    }

    internal static GrpcCallStatus FromError(HttpResponseMessage? response, Exception error)
    {
        if (response is not null && TryRead(response.Headers, out var code, out var message))
        {
            return new GrpcCallStatus(response.StatusCode, code, message, GrpcStatusSource.TrailersOnly, error);
        }

        return new GrpcCallStatus(response?.StatusCode, null, null, GrpcStatusSource.Missing, error);
    }

    private static bool TryRead(System.Net.Http.Headers.HttpHeaders headers, out GrpcStatusCode? code, out string? message)
    {
        code = null;
        message = null;
        if (!headers.TryGetValues(GrpcHeaders.Status, out var statusValues))
        {
            return false;
        }

        var raw = statusValues.First();
        if (headers.TryGetValues(GrpcHeaders.Message, out var messageValues))
        {
            message = Uri.UnescapeDataString(messageValues.First());
        }

        if (int.TryParse(raw, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            code = (GrpcStatusCode)value;
        }
        else
        {
            // Reported, not thrown: a test must see what the server sent.
            code = GrpcStatusCode.Unknown;
            message = $"unparsable grpc-status '{raw}'; grpc-message '{message}'";
        }

        return true;
    }
}

/// <summary>Checks shared by tests that end a call by its deadline.</summary>
public static class GrpcDeadlines
{
    /// <summary>
    /// Grpc.AspNetCore ends a call whose deadline passed with DEADLINE_EXCEEDED trailers and then,
    /// since the request is still open, RST_STREAM(CANCEL); when nothing was sent yet, Kestrel may
    /// drop the trailers-only response for the reset, which HttpClient reports as a cancellation
    /// (the callers' own timeouts are seconds longer than the deadlines they test). True for
    /// either outcome, and only for those.
    /// </summary>
    public static bool EndedByDeadline(GrpcCallStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (status.Code == GrpcStatusCode.DeadlineExceeded)
        {
            return true;
        }

        for (var ex = status.TransportError; ex is not null; ex = ex.InnerException)
        {
            if (ex is System.Net.Http.HttpProtocolException { ErrorCode: 0x8 } or OperationCanceledException)
            {
                return true;
            }
        }

        return false;
    }
}
