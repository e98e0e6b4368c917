using System.Buffers;
using System.Runtime.CompilerServices;
using Runtime.Primitives.Wire;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// The <c>ProcessingRequest</c> grammar, written once and specialised per reader. Field handling
/// follows Google.Protobuf exactly: fields are matched on the whole tag, so a known field number
/// with an unexpected wire type is skipped as unknown; scalars are last-one-wins; repeated
/// occurrences of a message field merge; a different oneof member replaces the previous one.
/// </summary>
internal static class RequestParser
{
    private const uint HeadersTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;

    // ProcessingRequest
    private const uint RequestHeadersTag = (2 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint ResponseHeadersTag = (3 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint RequestBodyTag = (4 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint ResponseBodyTag = (5 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint RequestTrailersTag = (6 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint ResponseTrailersTag = (7 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint MetadataContextTag = (8 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint ObservabilityModeTag = (10 << 3) | WireFormat.WireTypeVarint;
    private const uint ProtocolConfigTag = (11 << 3) | WireFormat.WireTypeLengthDelimited;

    // HttpHeaders{headers=1, end_of_stream=3}; HttpTrailers{trailers=1}; HeaderMap{headers=1}
    private const uint HttpHeadersEndOfStreamTag = (3 << 3) | WireFormat.WireTypeVarint;

    // HttpBody{body=1, end_of_stream=2}
    private const uint HttpBodyBodyTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint HttpBodyEndOfStreamTag = (2 << 3) | WireFormat.WireTypeVarint;

    // HeaderValue{key=1, value=2, raw_value=3}
    private const uint HeaderKeyTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint HeaderValueTag = (2 << 3) | WireFormat.WireTypeLengthDelimited;
    private const uint HeaderRawValueTag = (3 << 3) | WireFormat.WireTypeLengthDelimited;

    // ProtocolConfiguration{request_body_mode=1, response_body_mode=2, send_body_without_waiting_for_header_response=3}
    private const uint RequestBodyModeTag = (1 << 3) | WireFormat.WireTypeVarint;
    private const uint ResponseBodyModeTag = (2 << 3) | WireFormat.WireTypeVarint;
    private const uint SendBodyWithoutWaitingTag = (3 << 3) | WireFormat.WireTypeVarint;

    public static bool TryParseRequest<TReader>(ref TReader reader, ExtProcRequest into)
        where TReader : struct, IProtoReader, allows ref struct
    {
        while (reader.HasMore)
        {
            if (!TryReadTag(ref reader, out uint tag))
            {
                return false;
            }

            bool ok;
            switch (tag)
            {
                case RequestHeadersTag:
                case ResponseHeadersTag:
                    into.BeginOneof((ProcessingRequestKind)(tag >> 3));
                    ok = TryParseNested(ref reader, into, MessageKind.HttpHeaders);
                    break;
                case RequestBodyTag:
                case ResponseBodyTag:
                    into.BeginOneof((ProcessingRequestKind)(tag >> 3));
                    ok = TryParseNested(ref reader, into, MessageKind.HttpBody);
                    break;
                case RequestTrailersTag:
                case ResponseTrailersTag:
                    into.BeginOneof((ProcessingRequestKind)(tag >> 3));
                    ok = TryParseNested(ref reader, into, MessageKind.HttpTrailers);
                    break;
                case MetadataContextTag:
                    ok = TryReadBytes(ref reader, out ReadOnlySequence<byte> metadata);
                    if (ok)
                    {
                        into.MergeMetadataContext(metadata);
                    }

                    break;
                case ObservabilityModeTag:
                    ok = reader.TryReadVarint(out ulong observability);
                    into.ObservabilityMode = observability != 0;
                    break;
                case ProtocolConfigTag:
                    into.HasProtocolConfig = true;
                    ok = TryParseNested(ref reader, into, MessageKind.ProtocolConfiguration);
                    break;
                default:
                    // attributes (9) land here too: nothing in the data plane reads them.
                    ok = TrySkipField(ref reader, tag);
                    break;
            }

            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses a <c>HeaderValue</c> that fills the reader up to its limit and appends it.</summary>
    public static bool TryParseHeaderValue(ref SpanProtoReader reader, HeaderList into)
    {
        ReadOnlySpan<byte> key = default;
        ReadOnlySpan<byte> value = default;
        ReadOnlySpan<byte> rawValue = default;
        while (reader.HasMore)
        {
            if (!TryReadTag(ref reader, out uint tag))
            {
                return false;
            }

            bool ok = tag switch
            {
                HeaderKeyTag => reader.TryReadBytes(out key),
                HeaderValueTag => reader.TryReadBytes(out value),
                HeaderRawValueTag => reader.TryReadBytes(out rawValue),
                _ => TrySkipField(ref reader, tag),
            };
            if (!ok)
            {
                return false;
            }
        }

        // Envoy sends raw_value; value is the fallback. proto3 bytes carry no presence, so an
        // empty raw_value is indistinguishable from an absent one (as for Google.Protobuf).
        into.Add(key, rawValue.IsEmpty ? value : rawValue);
        return true;
    }

    private enum MessageKind
    {
        HttpHeaders,
        HttpBody,
        HttpTrailers,
        HeaderMap,
        ProtocolConfiguration,
    }

    /// <summary>Reads a length prefix and parses that many bytes as <paramref name="kind"/>.</summary>
    private static bool TryParseNested<TReader>(ref TReader reader, ExtProcRequest into, MessageKind kind)
        where TReader : struct, IProtoReader, allows ref struct
    {
        if (!reader.TryReadVarint(out ulong length) || !reader.TryPushLimit(length, out long previousLimit))
        {
            return false;
        }

        bool ok = kind switch
        {
            MessageKind.HttpHeaders => TryParseHttpHeaders(ref reader, into),
            MessageKind.HttpBody => TryParseHttpBody(ref reader, into),
            MessageKind.HttpTrailers => TryParseHttpTrailers(ref reader, into),
            // length fits the input (TryPushLimit checked it); the clamp only matters past 2 GiB.
            MessageKind.HeaderMap => TryParseHeaderMap(ref reader, into.Headers, (int)Math.Min(length, int.MaxValue)),
            _ => TryParseProtocolConfiguration(ref reader, into),
        };
        if (!ok)
        {
            return false;
        }

        reader.PopLimit(previousLimit);
        return true;
    }

    private static bool TryParseHttpHeaders<TReader>(ref TReader reader, ExtProcRequest into)
        where TReader : struct, IProtoReader, allows ref struct
    {
        while (reader.HasMore)
        {
            if (!TryReadTag(ref reader, out uint tag))
            {
                return false;
            }

            bool ok;
            switch (tag)
            {
                case HeadersTag:
                    ok = TryParseNested(ref reader, into, MessageKind.HeaderMap);
                    break;
                case HttpHeadersEndOfStreamTag:
                    ok = reader.TryReadVarint(out ulong endOfStream);
                    into.EndOfStream = endOfStream != 0;
                    break;
                default:
                    ok = TrySkipField(ref reader, tag);
                    break;
            }

            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseHttpTrailers<TReader>(ref TReader reader, ExtProcRequest into)
        where TReader : struct, IProtoReader, allows ref struct
    {
        while (reader.HasMore)
        {
            if (!TryReadTag(ref reader, out uint tag))
            {
                return false;
            }

            bool ok = tag == HeadersTag
                ? TryParseNested(ref reader, into, MessageKind.HeaderMap)
                : TrySkipField(ref reader, tag);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseHeaderMap<TReader>(ref TReader reader, HeaderList into, int length)
        where TReader : struct, IProtoReader, allows ref struct
    {
        // The map's size bounds the bytes of its names and values: grow storage once, up front.
        into.EnsureAdditionalByteCapacity(length);
        while (reader.HasMore)
        {
            if (!TryReadTag(ref reader, out uint tag))
            {
                return false;
            }

            bool ok = tag == HeadersTag
                ? reader.TryReadVarint(out ulong valueLength) && reader.TryReadHeaderValue(valueLength, into)
                : TrySkipField(ref reader, tag);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseHttpBody<TReader>(ref TReader reader, ExtProcRequest into)
        where TReader : struct, IProtoReader, allows ref struct
    {
        while (reader.HasMore)
        {
            if (!TryReadTag(ref reader, out uint tag))
            {
                return false;
            }

            bool ok;
            switch (tag)
            {
                case HttpBodyBodyTag:
                    ok = TryReadBytes(ref reader, out ReadOnlySequence<byte> body);
                    into.Body = body;
                    break;
                case HttpBodyEndOfStreamTag:
                    ok = reader.TryReadVarint(out ulong endOfStream);
                    into.EndOfStream = endOfStream != 0;
                    break;
                default:
                    ok = TrySkipField(ref reader, tag);
                    break;
            }

            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseProtocolConfiguration<TReader>(ref TReader reader, ExtProcRequest into)
        where TReader : struct, IProtoReader, allows ref struct
    {
        while (reader.HasMore)
        {
            if (!TryReadTag(ref reader, out uint tag))
            {
                return false;
            }

            bool ok;
            ulong value;
            switch (tag)
            {
                case RequestBodyModeTag:
                    ok = reader.TryReadVarint(out value);
                    into.RequestBodyMode = ToBodySendMode(value);
                    break;
                case ResponseBodyModeTag:
                    ok = reader.TryReadVarint(out value);
                    into.ResponseBodyMode = ToBodySendMode(value);
                    break;
                case SendBodyWithoutWaitingTag:
                    ok = reader.TryReadVarint(out value);
                    into.SendBodyWithoutWaitingForHeaderResponse = value != 0;
                    break;
                default:
                    ok = TrySkipField(ref reader, tag);
                    break;
            }

            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads a length-delimited field's length and value as a slice of the input.</summary>
    private static bool TryReadBytes<TReader>(ref TReader reader, out ReadOnlySequence<byte> slice)
        where TReader : struct, IProtoReader, allows ref struct
    {
        if (!reader.TryReadVarint(out ulong length))
        {
            slice = default;
            return false;
        }

        return reader.TryReadSlice(length, out slice);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryReadTag<TReader>(ref TReader reader, out uint tag)
        where TReader : struct, IProtoReader, allows ref struct
    {
        if (!reader.TryReadVarint(out ulong raw))
        {
            tag = 0;
            return false;
        }

        // Field number 0 is reserved; tags are 32-bit on the wire.
        if (raw > uint.MaxValue || raw < (1 << 3))
        {
            tag = 0;
            return reader.Fail(DecodeErrors.InvalidTag);
        }

        tag = (uint)raw;
        return true;
    }

    /// <summary>Skips the value of an unknown (or unexpected wire type) field.</summary>
    private static bool TrySkipField<TReader>(ref TReader reader, uint tag)
        where TReader : struct, IProtoReader, allows ref struct
    {
        switch ((int)(tag & 7))
        {
            case WireFormat.WireTypeVarint:
                return reader.TryReadVarint(out _);
            case WireFormat.WireTypeFixed64:
                return reader.TrySkip(8, DecodeErrors.FixedPastEnd);
            case WireFormat.WireTypeLengthDelimited:
                return reader.TryReadVarint(out ulong length) && reader.TrySkip(length, DecodeErrors.LengthPastEnd);
            case WireFormat.WireTypeFixed32:
                return reader.TrySkip(4, DecodeErrors.FixedPastEnd);
            case WireFormat.WireTypeStartGroup:
            case WireFormat.WireTypeEndGroup:
                // Deprecated since proto2 and never produced by Envoy; refusing them keeps skipping non-recursive.
                return reader.Fail(DecodeErrors.GroupsNotSupported);
            default:
                return reader.Fail(DecodeErrors.InvalidWireType);
        }
    }

    /// <summary>Open proto3 enum into a byte-backed enum: unknown values that fit are kept, others read as 255.</summary>
    private static BodySendMode ToBodySendMode(ulong value) =>
        value <= byte.MaxValue ? (BodySendMode)value : (BodySendMode)byte.MaxValue;
}
