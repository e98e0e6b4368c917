using Runtime.Proto.Envoy.Service.ExtProc.V3;

namespace Runtime.TestSupport.ExtProc;

/// <summary>The two directions of an ext_proc exchange.</summary>
public enum ExtProcDirection
{
    Request,
    Response,
}

/// <summary>
/// The responses of one direction of a FULL_DUPLEX_STREAMED exchange, checked against
/// what Envoy requires: the headers response first, then body responses that each carry a
/// <c>streamed_response</c> of at most <see cref="MaxChunkBytes"/>, exactly one of them with
/// end_of_stream when a body was sent, then one trailers response if trailers were sent.
/// Only the streamed bytes reach upstream: <see cref="StreamedBody"/> is what Envoy forwards.
/// </summary>
public sealed class DirectionTranscript
{
    private readonly List<ProcessingResponse> _responses = [];
    private readonly List<string> _violations = [];
    private readonly MemoryStream _streamedBody = new();

    /// <param name="direction">Which half of the exchange this transcript follows.</param>
    /// <param name="bodySent">Whether any body message (even an empty end_of_stream one) was sent.</param>
    /// <param name="trailersSent">Whether a trailers message was sent.</param>
    /// <param name="maxChunkBytes">Largest streamed chunk allowed back (GIE uses 62,000 B; Envoy's limit is 64 KiB).</param>
    public DirectionTranscript(ExtProcDirection direction, bool bodySent, bool trailersSent, int maxChunkBytes = BodyChunks.GieChunkBytes)
    {
        Direction = direction;
        BodySent = bodySent;
        TrailersSent = trailersSent;
        MaxChunkBytes = maxChunkBytes;
    }

    public ExtProcDirection Direction { get; }

    public bool BodySent { get; }

    public bool TrailersSent { get; }

    public int MaxChunkBytes { get; }

    public IReadOnlyList<ProcessingResponse> Responses => _responses;

    public ProcessingResponse? HeadersResponse { get; private set; }

    public IReadOnlyList<ProcessingResponse> BodyResponses => _responses.Where(IsBody).ToList();

    public ProcessingResponse? TrailersResponse { get; private set; }

    public int EndOfStreamCount { get; private set; }

    /// <summary>The bytes Envoy would forward: the concatenated streamed_response bodies.</summary>
    public byte[] StreamedBody => _streamedBody.ToArray();

    /// <summary>True when every response this direction owes has arrived.</summary>
    public bool IsComplete =>
        HeadersResponse is not null
        && (!BodySent || EndOfStreamCount > 0)
        && (!TrailersSent || TrailersResponse is not null);

    /// <summary>Ordering and shape problems seen so far, plus what is still missing.</summary>
    public IReadOnlyList<string> Violations
    {
        get
        {
            var all = new List<string>(_violations);
            if (HeadersResponse is null)
            {
                all.Add($"{Direction}: no headers response.");
            }

            if (BodySent && EndOfStreamCount == 0)
            {
                all.Add($"{Direction}: body sent but no streamed_response carried end_of_stream.");
            }

            if (TrailersSent && TrailersResponse is null)
            {
                all.Add($"{Direction}: trailers sent but no trailers response.");
            }

            return all;
        }
    }

    /// <summary>True when the response belongs to this direction (request_* or response_* fields).</summary>
    public bool Owns(ProcessingResponse response) => Direction == ExtProcDirection.Request
        ? response.ResponseCase is ProcessingResponse.ResponseOneofCase.RequestHeaders
            or ProcessingResponse.ResponseOneofCase.RequestBody
            or ProcessingResponse.ResponseOneofCase.RequestTrailers
        : response.ResponseCase is ProcessingResponse.ResponseOneofCase.ResponseHeaders
            or ProcessingResponse.ResponseOneofCase.ResponseBody
            or ProcessingResponse.ResponseOneofCase.ResponseTrailers;

    /// <summary>Records the next response of this direction and checks it against what came before.</summary>
    public void Add(ProcessingResponse response)
    {
        if (!Owns(response))
        {
            throw new ArgumentException($"{response.ResponseCase} does not belong to the {Direction} direction.", nameof(response));
        }

        var index = _responses.Count;
        _responses.Add(response);
        if (IsHeaders(response))
        {
            if (index != 0)
            {
                Violation(index, "headers response is not the first response of its direction");
            }

            HeadersResponse ??= response;
        }
        else if (IsBody(response))
        {
            AddBody(index, response);
        }
        else
        {
            if (!TrailersSent)
            {
                Violation(index, "trailers response although no trailers were sent");
            }
            else if (TrailersResponse is not null)
            {
                Violation(index, "second trailers response");
            }
            else if (BodySent && EndOfStreamCount == 0)
            {
                Violation(index, "trailers response before the end_of_stream body response");
            }

            TrailersResponse ??= response;
        }
    }

    private void AddBody(int index, ProcessingResponse response)
    {
        if (HeadersResponse is null)
        {
            Violation(index, "body response before the headers response");
        }

        if (TrailersResponse is not null)
        {
            Violation(index, "body response after the trailers response");
        }

        if (!BodySent)
        {
            Violation(index, "body response although no body was sent");
        }

        var body = Direction == ExtProcDirection.Request ? response.RequestBody : response.ResponseBody;
        var mutation = body.Response?.BodyMutation;
        if (mutation?.MutationCase != BodyMutation.MutationOneofCase.StreamedResponse)
        {
            Violation(index, $"body response carries {mutation?.MutationCase.ToString() ?? "no body_mutation"}, not streamed_response: Envoy forwards nothing for it");
            return;
        }

        var streamed = mutation.StreamedResponse;
        if (EndOfStreamCount > 0)
        {
            Violation(index, "streamed chunk after the end_of_stream chunk");
        }

        if (streamed.Body.Length > MaxChunkBytes)
        {
            Violation(index, $"streamed chunk of {streamed.Body.Length} bytes exceeds {MaxChunkBytes}");
        }

        streamed.Body.WriteTo(_streamedBody);
        if (streamed.EndOfStream)
        {
            EndOfStreamCount++;
        }
    }

    private void Violation(int index, string text) => _violations.Add($"{Direction} response #{index}: {text}.");

    private bool IsHeaders(ProcessingResponse r) => r.ResponseCase is ProcessingResponse.ResponseOneofCase.RequestHeaders
        or ProcessingResponse.ResponseOneofCase.ResponseHeaders;

    private bool IsBody(ProcessingResponse r) => Direction == ExtProcDirection.Request
        ? r.ResponseCase == ProcessingResponse.ResponseOneofCase.RequestBody
        : r.ResponseCase == ProcessingResponse.ResponseOneofCase.ResponseBody;
}
