using System.Buffers;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Runtime.BodyParsing;
using Runtime.EndpointPicker.Plugins;
using Runtime.EndpointPicker.Requests;
using Runtime.Endpoints;
using Runtime.Primitives.Buffers;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Processing;
using Runtime.ExtProc.Stream;
using Runtime.Scheduling;
using Runtime.Telemetry.Labels;

namespace Runtime.EndpointPicker;

/// <summary>The request side: parse the body, admit, pick over the snapshot, reply with the destination.</summary>
internal sealed partial class EndpointPickerHandler
{
    // The picker must name an endpoint for every request, body or not (GIE routes bodiless requests too).
    protected override bool DecidesWithoutBody => true;

    public override ValueTask OnRequestHeadersAsync(ExtProcStream stream)
    {
        _context = _owner.Context;
        _receivedAt = Stopwatch.GetTimestamp();
        // Envoy attaches the subset hint to the headers message; the pick happens later, at the body's end.
        KeepMetadata(stream.Message);
        return base.OnRequestHeadersAsync(stream);
    }

    protected override ValueTask OnRequestReadyAsync(ExtProcStream stream, ReadOnlySequence<byte> body, bool hasBody) => PickAsync(stream, body, hasBody);

    private async ValueTask PickAsync(ExtProcStream stream, ReadOnlySequence<byte> body, bool hasBody)
    {
        if (_receivedAt == 0)
        {
            _context = _owner.Context;
            _receivedAt = Stopwatch.GetTimestamp();
        }

        using var orchestration = stream.StartChildSpan("gateway.request_orchestration", ActivityKind.Server);
        try
        {
            await PickCoreAsync(stream, body, hasBody).ConfigureAwait(false);
        }
        finally
        {
            // llm-d: from receipt until the body was handled, admission included, rejections too.
            _context.Metrics.RequestProcessed(Stopwatch.GetElapsedTime(_receivedAt).TotalSeconds);
        }
    }

    private async ValueTask PickCoreAsync(ExtProcStream stream, ReadOnlySequence<byte> body, bool hasBody)
    {
        var headers = stream.RequestHeaders;
        var api = InferenceApi.Other;
        string clientModel = string.Empty, targetModel = string.Empty;

        // The parser is chosen per request by path (llm-d's ParserRegistry; a GIE config has one for all paths).
        // passthrough-parser: the body is forwarded unread, so there is no model or prompt to route on.
        // vllmgrpc-parser: a gRPC frame with a prompt but no model field.
        _parsing = RequestParsing.Passthrough;
        if (hasBody)
        {
            headers.TryGetValue(EndpointPickerHeaders.Path, out var requestPath);
            if (!_context.Parsers.TryResolve(requestPath, out _parsing))
            {
                await RefuseAsync(stream, new ImmediateError(400, "no parser registered matching path suffix for: " + Encoding.UTF8.GetString(requestPath))).ConfigureAwait(false);
                return;
            }

            if (_parsing == RequestParsing.Anthropic && AnthropicRequestParser.IsCountTokens(requestPath))
            {
                _parsing = RequestParsing.Passthrough;
            }
        }

        var parse = _parsing == RequestParsing.OpenAI;
        var grpc = _parsing == RequestParsing.VllmGrpc;
        JsonBodyScanner? modelScanner = null;
        if (grpc)
        {
            headers.TryGetValue(EndpointPickerHeaders.Path, out var grpcPath);
            if (!_grpcParser.TryParse(grpcPath, body, out var grpcError))
            {
                await RefuseAsync(stream, new ImmediateError(400, grpcError)).ConfigureAwait(false);
                return;
            }
        }

        if (parse)
        {
            headers.TryGetValue(EndpointPickerHeaders.Path, out var path);
            api = InferenceApiPaths.Classify(path);
            if (!_parser.TryParse(api, body, out var parseError))
            {
                await RefuseAsync(stream, new ImmediateError(400, parseError)).ConfigureAwait(false);
                return;
            }

            modelScanner = _parser.Scanner;
        }
        else if (_parsing == RequestParsing.Anthropic)
        {
            if (!_anthropicParser.TryParse(body, out var parseError))
            {
                await RefuseAsync(stream, new ImmediateError(400, parseError)).ConfigureAwait(false);
                return;
            }

            modelScanner = _anthropicParser.HasModel ? _anthropicParser.Scanner : null;
        }
        else if (_parsing == RequestParsing.VllmHttp)
        {
            if (!_vllmHttpParser.TryParse(body, out var parseError))
            {
                await RefuseAsync(stream, new ImmediateError(400, parseError)).ConfigureAwait(false);
                return;
            }

            modelScanner = _vllmHttpParser.HasModel ? _vllmHttpParser.Scanner : null;
        }

        if (modelScanner is not null)
        {
            clientModel = ModelString(modelScanner);
            targetModel = RewriteModel(headers, clientModel);
        }

        var priority = _context.Objectives.GetPriority(Header(headers, EndpointPickerHeaders.Objective, EndpointPickerHeaders.ObjectiveLlmD));
        var fairness = Header(headers, EndpointPickerHeaders.FairnessId, EndpointPickerHeaders.FairnessIdLlmD);
        if (fairness.IsEmpty && _context.AgentIdentity is { } agent)
        {
            // agent-identity: an explicit fairness header wins; else the first session header present.
            foreach (var name in agent.SessionHeadersUtf8)
            {
                if (headers.TryGetValue(name, out var session) && !session.IsEmpty)
                {
                    fairness = session;
                    break;
                }
            }
        }

        var fairnessId = fairness.IsEmpty ? EndpointPickerHeaders.DefaultFairnessId : _owner.FairnessIds.Get(fairness);
        _labels = new RequestMetricLabels(clientModel, targetModel, fairnessId, MetricLabels.Priority(priority));
        stream.CurrentSpan?.SetTag("target_model", targetModel).SetTag("request_prio", priority);

        var (admissionError, effectivePriority) = await _context.Admission.AdmitAsync(_labels, priority, body.Length, stream.Cancelled, SloTtft(headers)).ConfigureAwait(false);
        if (effectivePriority != priority)
        {
            _labels = _labels with { Priority = MetricLabels.Priority(effectivePriority) };
        }

        if (admissionError is not null)
        {
            await RefuseAsync(stream, admissionError).ConfigureAwait(false);
            return;
        }

        _request.TargetModel = targetModel;
        _request.Priority = effectivePriority;
        _request.BodyBytes = body.Length;
        _request.Streaming = _parsing switch
        {
            RequestParsing.OpenAI => _parser.IsStreaming,
            RequestParsing.VllmGrpc => _grpcParser.IsStreaming,
            RequestParsing.Anthropic => _anthropicParser.IsStreaming,
            RequestParsing.VllmHttp => _vllmHttpParser.IsStreaming,
            _ => false,
        };
        _request.Prompt = _parsing switch
        {
            RequestParsing.OpenAI => _parser.PromptBytes(api),
            RequestParsing.VllmGrpc => _grpcParser.Prompt,
            RequestParsing.Anthropic => _anthropicParser.PromptBytes(),
            RequestParsing.VllmHttp => _vllmHttpParser.PromptBytes(),
            _ => default,
        };
        _request.CacheSalt = parse ? _parser.CacheSaltBytes() : default;
        _requestHeaders.List = headers;
        _request.Headers = _requestHeaders;

        var error = Schedule(stream);
        _request.Prompt = default;
        _request.CacheSalt = default;
        _request.Headers = null;
        _requestHeaders.List = null;
        if (error is not null)
        {
            await RefuseAsync(stream, error).ConfigureAwait(false);
            return;
        }

        // The request now counts against the endpoint until its stream ends.
        _inFlight = _result.Primary;
        _inFlightTokens = body.Length / 4;
        _inFlight.AddInFlight(_inFlightTokens);
        _context.Metrics.Picked(_labels, body.Length);

        var outgoing = body;
        var rewritten = modelScanner is not null && !ReferenceEquals(clientModel, targetModel) && clientModel != targetModel;
        if (rewritten)
        {
            outgoing = RewriteBodyModel(modelScanner!, targetModel);
            _restorer.Begin(clientModel, targetModel);
        }

        var reply = BeginDecision(stream, hasBody);
        WriteDestination(reply, headers, rewritten ? outgoing.Length : -1);
        await SendDecisionAsync(stream, reply, hasBody, outgoing, rewritten).ConfigureAwait(false);
        ReturnRewrittenBody();
    }

    private ImmediateError? Schedule(ExtProcStream stream)
    {
        var snapshot = _context.Endpoints.Current;
        if (snapshot.Count == 0)
        {
            return EndpointPickerErrors.NoEndpoints;
        }

        ReadOnlySpan<EndpointState> candidates = snapshot.Endpoints;
        if (!_context.DisableSubsetFilter && TryGetSubsetHint(stream, out var subset))
        {
            var count = FilterToSubset(snapshot, subset);
            if (count == 0)
            {
                return EndpointPickerErrors.EmptySubset;
            }

            candidates = _candidates.AsSpan(0, count);
        }

        candidates = WithoutStale(candidates);
        var started = Stopwatch.GetTimestamp();
        _result.Reset();
        _context.Scheduler.Schedule(_request, candidates, _result);
        _context.Metrics.Scheduled(Stopwatch.GetElapsedTime(started).TotalSeconds);
        _context.Metrics.SchedulingAttempt(_request.TargetModel, _result.Status == SchedulingStatus.Picked && _result.Count > 0 ? _result.Primary.Endpoint : null);
        return _result.Status switch
        {
            SchedulingStatus.Picked when _result.Count > 0 => null,
            SchedulingStatus.AllFiltered => EndpointPickerErrors.AllFiltered,
            _ => EndpointPickerErrors.NoEndpoints,
        };
    }

    private ReadOnlySpan<EndpointState> WithoutStale(ReadOnlySpan<EndpointState> candidates)
    {
        if (_candidates.Length < candidates.Length)
        {
            _candidates = new EndpointState[candidates.Length];
        }

        // Filtering in place is safe when candidates already live in _candidates: writes never pass reads.
        var fresh = 0;
        foreach (var state in candidates)
        {
            if (state.Metrics.Age(_context.Time) <= _context.StalenessThreshold)
            {
                _candidates[fresh++] = state;
            }
        }

        return fresh == 0 || fresh == candidates.Length ? candidates : _candidates.AsSpan(0, fresh);
    }

    private void KeepMetadata(ExtProcRequest message)
    {
        _metadataLength = 0;
        if (!message.HasMetadataContext)
        {
            return;
        }

        var metadata = message.MetadataContext;
        if (_metadata.Length < metadata.Length)
        {
            _metadata = new byte[Math.Max(256, (int)metadata.Length)];
        }

        metadata.CopyTo(_metadata);
        _metadataLength = (int)metadata.Length;
    }

    private bool TryGetSubsetHint(ExtProcStream stream, out ReadOnlySpan<byte> list)
    {
        list = default;
        if (stream.Message.HasMetadataContext && stream.Message.Kind != ProcessingRequestKind.RequestHeaders)
        {
            KeepMetadata(stream.Message);
        }

        return _metadataLength > 0
            && MetadataReader.TryFindValue(_metadata.AsSpan(0, _metadataLength), EndpointPickerHeaders.SubsetHintNamespace, EndpointPickerHeaders.SubsetHintKey, out var value)
            && MetadataReader.TryGetList(value, out list);
    }

    private int FilterToSubset(EndpointSnapshot snapshot, ReadOnlySpan<byte> list)
    {
        if (_candidates.Length < snapshot.Count)
        {
            _candidates = new EndpointState[snapshot.Count];
        }

        Span<char> chars = stackalloc char[64];
        var count = 0;
        foreach (var entry in MetadataReader.EnumerateStrings(list))
        {
            if (entry.Length > chars.Length || !Encoding.UTF8.TryGetChars(entry, chars, out var n))
            {
                continue;
            }

            if (snapshot.TryGetByHostPort(chars[..n], out var state) && state is not null && !Contains(_candidates.AsSpan(0, count), state))
            {
                _candidates[count++] = state;
            }
        }

        return count;
    }

    private string ModelString(JsonBodyScanner scanner)
    {
        Span<byte> model = stackalloc byte[512];
        if (scanner.GetMaxStringLength(InferenceRequestParser.Model) <= model.Length && scanner.TryCopyString(InferenceRequestParser.Model, model, out var written))
        {
            return _owner.Models.Get(model[..written]);
        }

        var buffer = new byte[scanner.GetMaxStringLength(InferenceRequestParser.Model)];
        return scanner.TryCopyString(InferenceRequestParser.Model, buffer, out var length) ? Encoding.UTF8.GetString(buffer, 0, length) : string.Empty;
    }

    private string RewriteModel(HeaderList headers, string clientModel)
    {
        // The gateway's explicit override wins over the rewrite rules.
        var overrideModel = Header(headers, EndpointPickerHeaders.ModelRewrite, EndpointPickerHeaders.ModelRewriteLlmD);
        if (!overrideModel.IsEmpty)
        {
            return _owner.Models.Get(overrideModel);
        }

        if (!_context.Rewrites.TryRewrite(clientModel, out var target, out var rewriteName))
        {
            return clientModel;
        }

        _context.Metrics.ModelRewrite(rewriteName, clientModel, target);
        return target;
    }

    private ReadOnlySequence<byte> RewriteBodyModel(JsonBodyScanner scanner, string targetModel)
    {
        Span<byte> utf8 = stackalloc byte[512];
        var bytes = Encoding.UTF8.GetByteCount(targetModel) <= utf8.Length ? utf8[..Encoding.UTF8.GetBytes(targetModel, utf8)] : Encoding.UTF8.GetBytes(targetModel);
        _rewriter.Begin(scanner);
        _rewriter.ReplaceWithString(InferenceRequestParser.Model, bytes);
        var length = checked((int)_rewriter.OutputLength);
        _rewrittenBody = PooledBuffers.Rent(Math.Max(1, length));
        _rewriter.CopyTo(_rewrittenBody);
        return new ReadOnlySequence<byte>(_rewrittenBody, 0, length);
    }

    private void WriteDestination(ProcessingResponseBuilder reply, HeaderList headers, long newContentLength)
    {
        var picked = _result.Picked;
        var port = _result.DestinationPort;
        var needed = 0;
        foreach (var endpoint in picked)
        {
            needed += endpoint.Endpoint.HostPortUtf8.Length + 1 + (port > 0 ? 6 : 0);
        }

        if (_destination.Length < needed)
        {
            _destination = new byte[needed * 2];
        }

        var length = 0;
        foreach (var endpoint in picked)
        {
            if (length > 0)
            {
                _destination[length++] = (byte)',';
            }

            length += WriteHostPort(endpoint.Endpoint.HostPortUtf8.Span, port, _destination.AsSpan(length));
        }

        _destinationLength = length;
        var destination = _destination.AsSpan(0, _destinationLength);
        if (_context.Logger.IsEnabled(LogLevel.Debug))
        {
            Log.Picked(_context.Logger, Encoding.UTF8.GetString(destination), _request.TargetModel, _request.Priority);
        }

        reply.SetHeader(EndpointPickerHeaders.DestinationEndpoint, destination);
        reply.AddDynamicMetadata(EndpointPickerHeaders.LbNamespace, EndpointPickerHeaders.DestinationEndpoint, destination);
        if (_result.ScoredCandidates.Length > 0)
        {
            WriteScores(reply);
        }

        // Headers the profile handler chose (llm-d's x-prefiller-host-port, x-data-parallel-host-port).
        foreach (var header in _result.Headers)
        {
            if (header.Remove)
            {
                reply.RemoveHeader(header.Name.Span);
            }
            else
            {
                reply.SetHeader(header.Name.Span, header.Value.Span);
            }
        }

        if (!headers.TryGetValue(EndpointPickerHeaders.RequestId, out var id) || id.IsEmpty)
        {
            Span<byte> generated = stackalloc byte[36];
            Guid.NewGuid().TryFormat(generated, out var written);
            reply.SetHeader(EndpointPickerHeaders.RequestId, generated[..written]);
        }

        if (newContentLength >= 0)
        {
            Span<byte> digits = stackalloc byte[20];
            newContentLength.TryFormat(digits, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
            reply.SetHeader(EndpointPickerHeaders.ContentLength, digits[..written]);
        }

        reply.ClearRouteCache = true;
    }


    /// <summary>Writes <paramref name="hostPort"/>, or its host with <paramref name="port"/> when that is not 0 (llm-d's data-parallel primary port).</summary>
    private static int WriteHostPort(ReadOnlySpan<byte> hostPort, int port, Span<byte> destination)
    {
        if (port <= 0)
        {
            hostPort.CopyTo(destination);
            return hostPort.Length;
        }

        var host = hostPort[..hostPort.LastIndexOf((byte)':')];
        host.CopyTo(destination);
        destination[host.Length] = (byte)':';
        port.TryFormat(destination[(host.Length + 1)..], out var digits, default, System.Globalization.CultureInfo.InvariantCulture);
        return host.Length + 1 + digits;
    }

    /// <summary>llm-d's <c>x-gateway-destination-endpoint-scores</c>: <c>{"host:port": weighted score}</c> for every scored candidate.</summary>
    private void WriteScores(ProcessingResponseBuilder reply)
    {
        var candidates = _result.ScoredCandidates;
        var scores = _result.Scores;
        var size = 0;
        foreach (var candidate in candidates)
        {
            size += ProcessingResponseBuilder.NumberFieldSize(candidate.Endpoint.HostPortUtf8.Length);
        }

        if (_scores.Length < size)
        {
            _scores = new byte[size * 2];
        }

        var written = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            written += ProcessingResponseBuilder.WriteNumberField(_scores.AsSpan(written), candidates[i].Endpoint.HostPortUtf8.Span, scores[i]);
        }

        reply.AddDynamicMetadataStruct(EndpointPickerHeaders.LbNamespace, EndpointPickerHeaders.DestinationEndpointScores, _scores.AsSpan(0, written));
    }

    private ValueTask RefuseAsync(ExtProcStream stream, ImmediateError error)
    {
        _context.Metrics.Error(_labels, error);
        Log.Rejected(_context.Logger, error.HttpStatus, error.Message);
        return RejectAsync(stream, error);
    }

    private static bool Contains(ReadOnlySpan<EndpointState> states, EndpointState state)
    {
        foreach (var existing in states)
        {
            if (ReferenceEquals(existing, state))
            {
                return true;
            }
        }

        return false;
    }

    private static ReadOnlySpan<byte> Header(HeaderList headers, ReadOnlySpan<byte> name, ReadOnlySpan<byte> alternative) =>
        headers.TryGetValue(name, out var value) || headers.TryGetValue(alternative, out value) ? value : default;

    /// <summary>The <c>x-slo-ttft-ms</c> objective (slo-deadline-ordering-policy's deadline); zero when absent or invalid.</summary>
    private static TimeSpan SloTtft(HeaderList headers) =>
        headers.TryGetValue(EndpointPickerHeaders.SloTtftMs, out var value)
        && System.Buffers.Text.Utf8Parser.TryParse(value, out double ms, out var consumed) && consumed == value.Length && ms > 0 && double.IsFinite(ms)
            ? TimeSpan.FromMilliseconds(Math.Min(ms, TimeSpan.MaxValue.TotalMilliseconds / 2))
            : TimeSpan.Zero;

    /// <summary>The request headers as scheduling plugins read them (for header-based filters).</summary>
    private sealed class RequestHeaders : IRequestHeaders
    {
        public HeaderList? List { get; set; }

        public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
        {
            value = default;
            return List is not null && List.TryGetValue(name, out value);
        }
    }
}
