using System.Text;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.TestSupport.Grpc;

namespace Runtime.TestSupport.ExtProc;

/// <summary>What one side of an HTTP request carries through a FULL_DUPLEX_STREAMED exchange.</summary>
public sealed record FullDuplexPhase
{
    /// <summary>
    /// The headers message. For the request phase it must carry protocol_config (see
    /// <see cref="ExtProcMessages.FullDuplexRequestHeaders"/>); its end_of_stream is set
    /// from <see cref="BodyChunks"/> and <see cref="Trailers"/>.
    /// </summary>
    public required ProcessingRequest Headers { get; init; }

    public IReadOnlyList<ReadOnlyMemory<byte>> BodyChunks { get; init; } = [];

    /// <summary>Trailers to send after the body; Envoy then sends no end_of_stream on the body.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Trailers { get; init; }

    /// <summary>End the body with an extra empty <c>HttpBody{end_of_stream}</c>, which Envoy does at times.</summary>
    public bool FinalEmptyEndOfStream { get; init; }

    internal bool HasBody => BodyChunks.Count > 0 || FinalEmptyEndOfStream;

    internal bool HasTrailers => Trailers is not null;

    /// <summary>The messages Envoy would send for this phase, in order.</summary>
    public IReadOnlyList<ProcessingRequest> ToMessages(ExtProcDirection direction)
    {
        var headers = Headers.Clone();
        var http = direction == ExtProcDirection.Request ? headers.RequestHeaders : headers.ResponseHeaders;
        if (http is null)
        {
            throw new InvalidOperationException($"The {direction} phase must start with {direction.ToString().ToLowerInvariant()}_headers, not {headers.RequestCase}.");
        }

        http.EndOfStream = !HasBody && !HasTrailers;
        var messages = new List<ProcessingRequest> { headers };
        if (HasBody)
        {
            messages.AddRange(direction == ExtProcDirection.Request
                ? ExtProcMessages.RequestBodies(BodyChunks, endOfStream: !HasTrailers, FinalEmptyEndOfStream)
                : ExtProcMessages.ResponseBodies(BodyChunks, endOfStream: !HasTrailers, FinalEmptyEndOfStream));
        }

        if (Trailers is not null)
        {
            messages.Add(direction == ExtProcDirection.Request
                ? ExtProcMessages.RequestTrailers(Trailers)
                : ExtProcMessages.ResponseTrailers(Trailers));
        }

        return messages;
    }
}

/// <summary>Everything one FULL_DUPLEX_STREAMED exchange produced.</summary>
public sealed record FullDuplexResult(
    IReadOnlyList<ProcessingResponse> Responses,
    DirectionTranscript Request,
    DirectionTranscript? Response,
    ImmediateResponse? ImmediateResponse,
    IReadOnlyList<string> OtherViolations,
    GrpcCallStatus Status)
{
    /// <summary>Every rule the exchange broke; empty for a well-behaved server.</summary>
    public IReadOnlyList<string> Violations
    {
        get
        {
            var all = new List<string>(OtherViolations);
            if (ImmediateResponse is null)
            {
                all.AddRange(Request.Violations);
                all.AddRange(Response?.Violations ?? []);
            }

            if (!Status.IsOk)
            {
                all.Add($"Call did not end OK: {Status}.");
            }

            return all;
        }
    }

    /// <summary>Throws with the full list of violations and the transcript when the exchange broke any rule.</summary>
    public FullDuplexResult EnsureValid()
    {
        var violations = Violations;
        if (violations.Count > 0)
        {
            throw new ExtProcProtocolViolationException(violations, Describe());
        }

        return this;
    }

    /// <summary>One line per response, for assertion messages.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        for (var i = 0; i < Responses.Count; i++)
        {
            text.Append('#').Append(i).Append(' ').AppendLine(ExtProcFormatting.Summarize(Responses[i]));
        }

        return text.Append("status: ").Append(Status).ToString();
    }
}

/// <summary>A server broke the ext_proc exchange rules Envoy relies on.</summary>
public sealed class ExtProcProtocolViolationException(IReadOnlyList<string> violations, string transcript)
    : Exception($"ext_proc exchange broke {violations.Count} rule(s):{Environment.NewLine}  "
        + string.Join(Environment.NewLine + "  ", violations) + Environment.NewLine + "Transcript:" + Environment.NewLine + transcript)
{
    public IReadOnlyList<string> Violations { get; } = violations;
}
