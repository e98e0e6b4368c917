using System.Text;

namespace Runtime.EndpointPicker;

/// <summary>
/// An ImmediateResponse the picker sends instead of a pick (SPEC §2), with GIE's body text
/// <c>inference error: &lt;Code&gt; - &lt;message&gt;</c>. The common ones are built once.
/// </summary>
public sealed class EndpointPickerError
{
    public static readonly EndpointPickerError NoEndpoints = new(503, "no endpoints available in the pool");
    public static readonly EndpointPickerError EmptySubset = new(503, "the gateway's subset hint lists no endpoint of the pool");
    public static readonly EndpointPickerError AllFiltered = new(429, "no endpoint can take the request now");
    public static readonly EndpointPickerError Shed = new(429, "the pool is saturated and the request is sheddable");
    public static readonly EndpointPickerError QueueFull = new(429, "flow control capacity exhausted");
    public static readonly EndpointPickerError QueueTtl = new(503, "the request waited in the queue longer than its TTL");
    public static readonly EndpointPickerError ClientGone = new(503, "the client went away while the request was queued");
    public static readonly EndpointPickerError QueueUnavailable = new(503, "flow control could not admit the request");

    public EndpointPickerError(int httpStatus, string message)
    {
        HttpStatus = httpStatus;
        Message = message;
        Body = Encoding.UTF8.GetBytes($"inference error: {CodeName(httpStatus)} - {message}");
        Details = Encoding.UTF8.GetBytes(message);
    }

    public int HttpStatus { get; }

    public string Message { get; }

    public byte[] Body { get; }

    public byte[] Details { get; }

    /// <summary>GIE's error code names.</summary>
    public static string CodeName(int status) => status switch
    {
        400 => "BadRequest",
        429 => "InferencePoolResourceExhausted",
        503 => "ServiceUnavailable",
        _ => "Internal",
    };

    public override string ToString() => $"{HttpStatus} {Message}";
}
