using System.Buffers;
using System.Buffers.Binary;
using Runtime.BodyParsing;
using Runtime.Primitives.Wire;

namespace Runtime.EndpointPicker.Requests;

/// <summary>
/// <c>vllmgrpc-parser</c> (GIE v1.5.0): reads vLLM's gRPC engine API. The body is one gRPC frame
/// (1-byte compressed flag, 4-byte big-endian length, protobuf message); by <c>:path</c> it is a
/// <c>GenerateRequest</c> (<c>/vllm.grpc.engine.VllmEngine/Generate</c>: input <c>text</c> = 3 or
/// <c>tokenized</c> = 2 {<c>original_text</c> = 1}, <c>stream</c> = 5) or an <c>EmbedRequest</c>
/// (<c>/Embed</c>: <c>tokenized</c> = 2). The text is the prompt for prefix hashing; there is no model
/// field. Responses are <c>GenerateResponse</c> frames whose chunk or complete message carries the
/// token counts, or an <c>EmbedResponse</c> with <c>prompt_tokens</c> = 2.
/// </summary>
/// <remarks>Field numbers follow GIE v1.5.0's vllm_engine.proto. Compressed frames are refused, as in GIE.</remarks>
internal sealed class VllmGrpcRequestParser
{
    public static ReadOnlySpan<byte> GeneratePath => "/vllm.grpc.engine.VllmEngine/Generate"u8;

    public static ReadOnlySpan<byte> EmbedPath => "/vllm.grpc.engine.VllmEngine/Embed"u8;

    private byte[] _message = [];
    private int _promptStart;
    private int _promptLength;

    public bool IsStreaming { get; private set; }

    /// <summary>The parsed request was an Embed call (its response is an EmbedResponse).</summary>
    public bool IsEmbed { get; private set; }

    /// <summary>The prompt text (UTF-8), valid until the next parse.</summary>
    public ReadOnlySequence<byte> Prompt => new(_message, _promptStart, _promptLength);

    /// <summary>Parses the request frame; on failure <paramref name="error"/> is the 400 text.</summary>
    public bool TryParse(ReadOnlySpan<byte> path, in ReadOnlySequence<byte> body, out string error)
    {
        IsStreaming = false;
        _promptStart = _promptLength = 0;
        var generate = path.SequenceEqual(GeneratePath);
        IsEmbed = !generate;
        if (!generate && !path.SequenceEqual(EmbedPath))
        {
            error = "unsupported gRPC path for vllmgrpc-parser (expected /vllm.grpc.engine.VllmEngine/Generate or /Embed)";
            return false;
        }

        if (!TryReadFrame(body, ref _message, out var length, out error))
        {
            return false;
        }

        var message = _message.AsSpan(0, length);
        var found = false;
        var position = 0;
        while (WireFormat.TryReadField(message, ref position, out var field, out var wire, out var value, out var number))
        {
            if (generate && field == 3 && wire == WireFormat.WireTypeLengthDelimited)
            {
                SetPrompt(value, ref found);
            }
            else if (field == 2 && wire == WireFormat.WireTypeLengthDelimited)
            {
                // TokenizedInput.original_text = 1.
                var inner = message.Slice(value.Start, value.Length);
                var innerPosition = 0;
                while (WireFormat.TryReadField(inner, ref innerPosition, out var innerField, out var innerWire, out var text, out _))
                {
                    if (innerField == 1 && innerWire == WireFormat.WireTypeLengthDelimited)
                    {
                        SetPrompt((value.Start + text.Start, text.Length), ref found);
                    }
                }

                found = true;
            }
            else if (generate && field == 5 && wire == WireFormat.WireTypeVarint)
            {
                IsStreaming = number != 0;
            }
        }

        if (position != message.Length)
        {
            error = "the gRPC message is not a valid protobuf message";
            return false;
        }

        if (!found)
        {
            error = generate ? "not supported request inputType (GenerateRequest needs text or tokenized input)" : "missing tokenized input in EmbedRequest";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>Token usage from the last response frame that reports any (a stream's final chunk or the complete message).</summary>
    public static bool TryReadUsage(in ReadOnlySequence<byte> body, bool embed, out TokenUsage usage)
    {
        usage = default;
        var bytes = body.IsSingleSegment ? body.FirstSpan : body.ToArray();
        var found = false;
        while (bytes.Length >= 5)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(bytes[1..]);
            if (bytes[0] != 0 || length > (uint)(bytes.Length - 5))
            {
                break;
            }

            var frame = bytes.Slice(5, (int)length);
            if (TryFrameUsage(frame, embed, out var frameUsage))
            {
                usage = frameUsage;
                found = true;
            }

            bytes = bytes[(5 + (int)length)..];
        }

        return found;
    }

    private static bool TryFrameUsage(ReadOnlySpan<byte> frame, bool embed, out TokenUsage usage)
    {
        usage = default;
        var position = 0;
        while (WireFormat.TryReadField(frame, ref position, out var field, out var wire, out var value, out var number))
        {
            // GenerateResponse: chunk = 1 {prompt 2, completion 3, cached 4}; complete = 2 {prompt 3, completion 4, cached 5}.
            // EmbedResponse: prompt_tokens = 2 (varint), embedding = 1 (packed floats).
            if (embed)
            {
                if (wire == WireFormat.WireTypeVarint && field == 2 && number > 0)
                {
                    usage = new TokenUsage((long)number, 0, 0);
                    return true;
                }

                continue;
            }

            if (wire != WireFormat.WireTypeLengthDelimited || field is not (1 or 2))
            {
                continue;
            }

            var (prompt, completion, cached) = field == 1 ? (2, 3, 4) : (3, 4, 5);
            long p = 0, c = 0, k = 0;
            var inner = frame.Slice(value.Start, value.Length);
            var innerPosition = 0;
            while (WireFormat.TryReadField(inner, ref innerPosition, out var innerField, out var innerWire, out _, out var count))
            {
                if (innerWire != WireFormat.WireTypeVarint)
                {
                    continue;
                }

                if (innerField == prompt)
                {
                    p = (long)count;
                }
                else if (innerField == completion)
                {
                    c = (long)count;
                }
                else if (innerField == cached)
                {
                    k = (long)count;
                }
            }

            if (p > 0 || c > 0)
            {
                usage = new TokenUsage(p, c, k);
                return true;
            }
        }

        return false;
    }

    private void SetPrompt((int Start, int Length) value, ref bool found)
    {
        _promptStart = value.Start;
        _promptLength = value.Length;
        found = true;
    }

    private static bool TryReadFrame(in ReadOnlySequence<byte> body, ref byte[] message, out int length, out string error)
    {
        length = 0;
        Span<byte> header = stackalloc byte[5];
        if (body.Length < 5)
        {
            error = "invalid gRPC frame: expected at least 5 bytes for the header";
            return false;
        }

        body.Slice(0, 5).CopyTo(header);
        if (header[0] == 1)
        {
            error = "compressed vllmgrpc payload is not supported";
            return false;
        }

        var declared = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (declared > body.Length - 5)
        {
            error = "incomplete gRPC payload: the header declares more bytes than the body has";
            return false;
        }

        length = (int)declared;
        if (message.Length < length)
        {
            message = new byte[Math.Max(length, 256)];
        }

        body.Slice(5, length).CopyTo(message);
        error = string.Empty;
        return true;
    }
}
