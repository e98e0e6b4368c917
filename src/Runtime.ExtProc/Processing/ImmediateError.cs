using System.Text;

namespace Runtime.ExtProc.Processing;

/// <summary>
/// A request refused with an immediate HTTP response. One table of GIE's error-code names for
/// every processor, so a status reads the same whichever router refused it.
/// </summary>
internal sealed class ImmediateError
{
    public ImmediateError(int httpStatus, string message, string? headerName = null, string? headerValue = null)
    {
        HttpStatus = httpStatus;
        Message = message;
        Body = Encoding.UTF8.GetBytes($"inference error: {CodeName(httpStatus)} - {message}");
        Details = Encoding.UTF8.GetBytes(message);
        HeaderName = headerName is null ? [] : Encoding.ASCII.GetBytes(headerName);
        HeaderValue = headerValue is null ? [] : Encoding.ASCII.GetBytes(headerValue);
    }

    /// <summary>A response header sent with the refusal (llm-d's <c>x-llm-d-request-dropped-reason</c>), or empty.</summary>
    public byte[] HeaderName { get; }

    public byte[] HeaderValue { get; }

    public int HttpStatus { get; }

    public string Message { get; }

    /// <summary>What the client reads: GIE's <c>inference error: Code - message</c>.</summary>
    public byte[] Body { get; }

    /// <summary>Envoy's <c>details</c> field (access logs).</summary>
    public byte[] Details { get; }

    /// <summary>GIE v1.5.0's error code names (pkg/common/error/error.go, BuildErrResponse).</summary>
    public static string CodeName(int status) => status switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        429 => "ResourceExhausted",
        503 => "ServiceUnavailable",
        _ => "Internal",
    };

    public override string ToString() => $"{HttpStatus} {Message}";
}
