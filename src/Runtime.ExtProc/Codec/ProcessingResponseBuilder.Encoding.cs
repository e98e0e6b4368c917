using System.Buffers;
using Runtime.Primitives.Wire;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// The encoding half of <see cref="ProcessingResponseBuilder"/>: every message's content size is
/// computed bottom-up first, so the writer emits each length prefix before its content and never
/// back-patches or stages bytes.
/// </summary>
internal sealed partial class ProcessingResponseBuilder
{
    // Tags (all one byte: every field number is below 16).
    private const uint CommonResponseTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;             // Headers/BodyResponse.response
    private const uint TrailersHeaderMutationTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;     // TrailersResponse.header_mutation
    private const uint DynamicMetadataTag = (8 << 3) | WireFormat.WireTypeLengthDelimited;            // ProcessingResponse.dynamic_metadata
    private const uint CommonStatusTag = (1 << 3) | WireFormat.WireTypeVarint;                        // CommonResponse.status
    private const uint CommonHeaderMutationTag = (2 << 3) | WireFormat.WireTypeLengthDelimited;       // CommonResponse.header_mutation
    private const uint CommonBodyMutationTag = (3 << 3) | WireFormat.WireTypeLengthDelimited;         // CommonResponse.body_mutation
    private const uint CommonClearRouteCacheTag = (5 << 3) | WireFormat.WireTypeVarint;               // CommonResponse.clear_route_cache
    private const uint SetHeadersTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;                 // HeaderMutation.set_headers
    private const uint RemoveHeadersTag = (2 << 3) | WireFormat.WireTypeLengthDelimited;              // HeaderMutation.remove_headers
    private const uint OptionHeaderTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;               // HeaderValueOption.header
    private const uint OptionAppendTag = (2 << 3) | WireFormat.WireTypeLengthDelimited;               // HeaderValueOption.append (BoolValue)
    private const uint BoolValueTag = (1 << 3) | WireFormat.WireTypeVarint;                           // google.protobuf.BoolValue.value
    private const uint HeaderKeyTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;                  // HeaderValue.key
    private const uint HeaderRawValueTag = (3 << 3) | WireFormat.WireTypeLengthDelimited;             // HeaderValue.raw_value
    private const uint BodyMutationBodyTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;           // BodyMutation.body
    private const uint BodyMutationClearBodyTag = (2 << 3) | WireFormat.WireTypeVarint;               // BodyMutation.clear_body
    private const uint BodyMutationStreamedTag = (3 << 3) | WireFormat.WireTypeLengthDelimited;       // BodyMutation.streamed_response
    private const uint StreamedBodyTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;               // StreamedBodyResponse.body
    private const uint StreamedEndOfStreamTag = (2 << 3) | WireFormat.WireTypeVarint;                 // StreamedBodyResponse.end_of_stream
    private const uint ImmediateStatusTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;            // ImmediateResponse.status
    private const uint ImmediateHeadersTag = (2 << 3) | WireFormat.WireTypeLengthDelimited;           // ImmediateResponse.headers
    private const uint ImmediateBodyTag = (3 << 3) | WireFormat.WireTypeLengthDelimited;              // ImmediateResponse.body
    private const uint ImmediateGrpcStatusTag = (4 << 3) | WireFormat.WireTypeLengthDelimited;        // ImmediateResponse.grpc_status
    private const uint ImmediateDetailsTag = (5 << 3) | WireFormat.WireTypeLengthDelimited;           // ImmediateResponse.details
    private const uint HttpStatusCodeTag = (1 << 3) | WireFormat.WireTypeVarint;                      // envoy.type.v3.HttpStatus.code
    private const uint GrpcStatusStatusTag = (1 << 3) | WireFormat.WireTypeVarint;                    // GrpcStatus.status
    private const uint StructFieldsTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;               // google.protobuf.Struct.fields (map entry)
    private const uint MapKeyTag = (1 << 3) | WireFormat.WireTypeLengthDelimited;                     // map entry key
    private const uint MapValueTag = (2 << 3) | WireFormat.WireTypeLengthDelimited;                   // map entry value
    private const uint ValueStringTag = (3 << 3) | WireFormat.WireTypeLengthDelimited;                // google.protobuf.Value.string_value
    private const uint ValueNumberTag = (2 << 3) | 1;                                                 // google.protobuf.Value.number_value (fixed64)
    private const uint ValueStructTag = (5 << 3) | WireFormat.WireTypeLengthDelimited;                // google.protobuf.Value.struct_value

    // ---- Sizes (bottom-up; each *Size field is a message's content length, without its own tag/length).

    private void ComputeSizes()
    {
        long headerMutation = 0;
        long response = 0;
        if (_kind != ProcessingResponseKind.None)
        {
            headerMutation = _headerMutationRequested ? HeaderMutationSize() : 0;
            response = _kind switch
            {
                ProcessingResponseKind.RequestTrailers or ProcessingResponseKind.ResponseTrailers =>
                    _headerMutationRequested ? WireFormat.LengthDelimitedSize(headerMutation) : 0,
                ProcessingResponseKind.ImmediateResponse => ImmediateResponseSize(headerMutation),
                _ => WireFormat.LengthDelimitedSize(CommonResponseSize(headerMutation)),
            };
        }

        long metadata = _metadataCount > 0 ? DynamicMetadataSize() : 0;
        long total = (_kind != ProcessingResponseKind.None ? WireFormat.LengthDelimitedSize(response) : 0)
            + (_metadataCount > 0 ? WireFormat.LengthDelimitedSize(metadata) : 0);
        if (total > int.MaxValue)
        {
            ThrowHelper.ThrowTooLarge("Response");
        }

        // Every part is at most the total, so these narrowings are safe.
        _headerMutationSize = (int)headerMutation;
        _responseSize = (int)response;
        _metadataSize = (int)metadata;
        _totalSize = (int)total;
        _sizesValid = true;
    }

    private long CommonResponseSize(long headerMutation)
    {
        long size = 0;
        if (_status != CommonResponseStatus.Continue)
        {
            size += 1 + WireFormat.VarintSize((ulong)_status);
        }

        if (_headerMutationRequested)
        {
            size += WireFormat.LengthDelimitedSize(headerMutation);
        }

        if (_bodyMutationKind != BodyMutationKind.None)
        {
            long bodyMutation = BodyMutationSize();
            _bodyMutationSize = (int)Math.Min(bodyMutation, int.MaxValue);
            size += WireFormat.LengthDelimitedSize(bodyMutation);
        }

        if (_clearRouteCache)
        {
            size += 2;
        }

        _commonSize = (int)Math.Min(size, int.MaxValue);
        return size;
    }

    private long BodyMutationSize()
    {
        switch (_bodyMutationKind)
        {
            case BodyMutationKind.Body:
                // A oneof member has presence: an empty body is still written.
                return WireFormat.LengthDelimitedSize(_body.Length);
            case BodyMutationKind.ClearBody:
                return 2;
            default:
                long streamed = (_body.Length > 0 ? WireFormat.LengthDelimitedSize(_body.Length) : 0)
                    + (_streamedEndOfStream ? 2 : 0);
                _streamedSize = (int)Math.Min(streamed, int.MaxValue);
                return WireFormat.LengthDelimitedSize(streamed);
        }
    }

    private long HeaderMutationSize()
    {
        long size = 0;
        ReadOnlySpan<SetHeaderEntry> setHeaders = _setHeaders.AsSpan(0, _setHeaderCount);
        for (int i = 0; i < setHeaders.Length; i++)
        {
            size += WireFormat.LengthDelimitedSize(HeaderValueOptionSize(setHeaders[i]));
        }

        ReadOnlySpan<ByteRange> removeHeaders = _removeHeaders.AsSpan(0, _removeHeaderCount);
        for (int i = 0; i < removeHeaders.Length; i++)
        {
            // Repeated fields write every element, empty strings included.
            size += WireFormat.LengthDelimitedSize(removeHeaders[i].Length);
        }

        return size;
    }

    private static int HeaderValueSize(in SetHeaderEntry entry) =>
        (int)((entry.Name.Length > 0 ? WireFormat.LengthDelimitedSize(entry.Name.Length) : 0)
            + (entry.Value.Length > 0 ? WireFormat.LengthDelimitedSize(entry.Value.Length) : 0));

    private static int HeaderValueOptionSize(in SetHeaderEntry entry) =>
        (int)WireFormat.LengthDelimitedSize(HeaderValueSize(entry)) + entry.Append switch
        {
            OptionalBool.True => 4,   // 0x12 0x02 0x08 0x01
            OptionalBool.False => 2,  // 0x12 0x00: BoolValue{false} is an empty message
            _ => 0,
        };

    private long ImmediateResponseSize(long headerMutation)
    {
        long size = 0;
        if (_hasImmediateStatus)
        {
            _httpStatusSize = _httpStatus != 0 ? 1 + WireFormat.Int32Size(_httpStatus) : 0;
            size += WireFormat.LengthDelimitedSize(_httpStatusSize);
        }

        if (_headerMutationRequested)
        {
            size += WireFormat.LengthDelimitedSize(headerMutation);
        }

        if (_immediateBody.Length > 0)
        {
            size += WireFormat.LengthDelimitedSize(_immediateBody.Length);
        }

        if (_hasGrpcStatus)
        {
            _grpcStatusSize = _grpcStatus != 0 ? 1 + WireFormat.VarintSize(_grpcStatus) : 0;
            size += WireFormat.LengthDelimitedSize(_grpcStatusSize);
        }

        if (_immediateDetails.Length > 0)
        {
            size += WireFormat.LengthDelimitedSize(_immediateDetails.Length);
        }

        return size;
    }

    // dynamic_metadata: Struct{ fields: map<string, Value> } with, per namespace,
    // Value{ struct_value: Struct{ fields: { key: Value{ string_value } } } }.
    private long DynamicMetadataSize()
    {
        Span<MetadataNamespace> namespaces = _namespaces.AsSpan(0, _namespaceCount);
        ReadOnlySpan<MetadataEntry> entries = _metadata.AsSpan(0, _metadataCount);
        for (int n = 0; n < namespaces.Length; n++)
        {
            namespaces[n].InnerStructSize = 0;
        }

        for (int i = 0; i < entries.Length; i++)
        {
            ref readonly MetadataEntry entry = ref entries[i];
            namespaces[entry.NamespaceIndex].InnerStructSize += WireFormat.LengthDelimitedSize(InnerEntrySize(entry));
        }

        long size = 0;
        for (int n = 0; n < namespaces.Length; n++)
        {
            size += WireFormat.LengthDelimitedSize(OuterEntrySize(namespaces[n]));
        }

        return size;
    }

    /// <summary>Map entry {key, Value{string_value}}. Map entries omit a default (empty) key, as Google.Protobuf does.</summary>
    private static long InnerEntrySize(in MetadataEntry entry) =>
        MapKeySize(entry.Key.Length) + WireFormat.LengthDelimitedSize(ValueSize(entry));

    /// <summary>Value{number_value} is a tag and 8 bytes; Value{string_value} and Value{struct_value} are length-delimited.</summary>
    private static long ValueSize(in MetadataEntry entry) => entry.Number is null ? StringValueSize(entry.Value.Length) : 9;

    /// <summary>Value{string_value}: a oneof member, so an empty string is still written.</summary>
    private static long StringValueSize(int length) => WireFormat.LengthDelimitedSize(length);

    /// <summary>Map entry {namespace, Value{struct_value}}.</summary>
    private static long OuterEntrySize(in MetadataNamespace ns) =>
        MapKeySize(ns.Name.Length) + WireFormat.LengthDelimitedSize(StructValueSize(ns.InnerStructSize));

    private static long StructValueSize(long innerStructSize) => WireFormat.LengthDelimitedSize(innerStructSize);

    private static long MapKeySize(int length) => length > 0 ? WireFormat.LengthDelimitedSize(length) : 0;

    // ---- Writing (mirrors the size computation above, field by field).

    private void WriteCommonResponse(ref ProtoWriter output)
    {
        if (_status != CommonResponseStatus.Continue)
        {
            output.WriteTag(CommonStatusTag);
            output.WriteVarint((ulong)_status);
        }

        if (_headerMutationRequested)
        {
            output.WriteLengthDelimitedHeader(CommonHeaderMutationTag, _headerMutationSize);
            WriteHeaderMutation(ref output);
        }

        switch (_bodyMutationKind)
        {
            case BodyMutationKind.Body:
                output.WriteLengthDelimitedHeader(CommonBodyMutationTag, _bodyMutationSize);
                output.WriteBytesField(BodyMutationBodyTag, _body);
                break;
            case BodyMutationKind.ClearBody:
                output.WriteLengthDelimitedHeader(CommonBodyMutationTag, _bodyMutationSize);
                output.WriteTag(BodyMutationClearBodyTag);
                output.WriteVarint(1);
                break;
            case BodyMutationKind.Streamed:
                output.WriteLengthDelimitedHeader(CommonBodyMutationTag, _bodyMutationSize);
                output.WriteLengthDelimitedHeader(BodyMutationStreamedTag, _streamedSize);
                if (_body.Length > 0)
                {
                    output.WriteBytesField(StreamedBodyTag, _body);
                }

                if (_streamedEndOfStream)
                {
                    output.WriteTag(StreamedEndOfStreamTag);
                    output.WriteVarint(1);
                }

                break;
        }

        if (_clearRouteCache)
        {
            output.WriteTag(CommonClearRouteCacheTag);
            output.WriteVarint(1);
        }
    }

    private void WriteHeaderMutation(ref ProtoWriter output)
    {
        ReadOnlySpan<SetHeaderEntry> setHeaders = _setHeaders.AsSpan(0, _setHeaderCount);
        for (int i = 0; i < setHeaders.Length; i++)
        {
            ref readonly SetHeaderEntry entry = ref setHeaders[i];
            output.WriteLengthDelimitedHeader(SetHeadersTag, HeaderValueOptionSize(entry));
            output.WriteLengthDelimitedHeader(OptionHeaderTag, HeaderValueSize(entry));
            if (entry.Name.Length > 0)
            {
                output.WriteBytesField(HeaderKeyTag, Arena(entry.Name));
            }

            // raw_value only: Envoy ignores `value` in set_headers and rejects both being set.
            if (entry.Value.Length > 0)
            {
                output.WriteBytesField(HeaderRawValueTag, Arena(entry.Value));
            }

            if (entry.Append != OptionalBool.Unset)
            {
                bool append = entry.Append == OptionalBool.True;
                output.WriteLengthDelimitedHeader(OptionAppendTag, append ? 2 : 0);
                if (append)
                {
                    output.WriteTag(BoolValueTag);
                    output.WriteVarint(1);
                }
            }
        }

        ReadOnlySpan<ByteRange> removeHeaders = _removeHeaders.AsSpan(0, _removeHeaderCount);
        for (int i = 0; i < removeHeaders.Length; i++)
        {
            output.WriteBytesField(RemoveHeadersTag, Arena(removeHeaders[i]));
        }
    }

    private void WriteImmediateResponse(ref ProtoWriter output)
    {
        if (_hasImmediateStatus)
        {
            output.WriteLengthDelimitedHeader(ImmediateStatusTag, _httpStatusSize);
            if (_httpStatus != 0)
            {
                output.WriteTag(HttpStatusCodeTag);
                output.WriteVarint((ulong)(long)_httpStatus);
            }
        }

        if (_headerMutationRequested)
        {
            output.WriteLengthDelimitedHeader(ImmediateHeadersTag, _headerMutationSize);
            WriteHeaderMutation(ref output);
        }

        if (_immediateBody.Length > 0)
        {
            output.WriteBytesField(ImmediateBodyTag, Arena(_immediateBody));
        }

        if (_hasGrpcStatus)
        {
            output.WriteLengthDelimitedHeader(ImmediateGrpcStatusTag, _grpcStatusSize);
            if (_grpcStatus != 0)
            {
                output.WriteTag(GrpcStatusStatusTag);
                output.WriteVarint(_grpcStatus);
            }
        }

        if (_immediateDetails.Length > 0)
        {
            output.WriteBytesField(ImmediateDetailsTag, Arena(_immediateDetails));
        }
    }

    private void WriteDynamicMetadata(ref ProtoWriter output)
    {
        ReadOnlySpan<MetadataNamespace> namespaces = _namespaces.AsSpan(0, _namespaceCount);
        ReadOnlySpan<MetadataEntry> entries = _metadata.AsSpan(0, _metadataCount);
        for (int n = 0; n < namespaces.Length; n++)
        {
            ref readonly MetadataNamespace ns = ref namespaces[n];
            output.WriteLengthDelimitedHeader(StructFieldsTag, OuterEntrySize(ns));
            if (ns.Name.Length > 0)
            {
                output.WriteBytesField(MapKeyTag, Arena(ns.Name));
            }

            output.WriteLengthDelimitedHeader(MapValueTag, StructValueSize(ns.InnerStructSize));
            output.WriteLengthDelimitedHeader(ValueStructTag, ns.InnerStructSize);

            // Namespaces and entries are few (a handful): a scan per namespace beats an index.
            for (int i = 0; i < entries.Length; i++)
            {
                ref readonly MetadataEntry entry = ref entries[i];
                if (entry.NamespaceIndex != n)
                {
                    continue;
                }

                output.WriteLengthDelimitedHeader(StructFieldsTag, InnerEntrySize(entry));
                if (entry.Key.Length > 0)
                {
                    output.WriteBytesField(MapKeyTag, Arena(entry.Key));
                }

                output.WriteLengthDelimitedHeader(MapValueTag, ValueSize(entry));
                if (entry.Number is { } number)
                {
                    output.WriteDoubleField(ValueNumberTag, number);
                }
                else if (entry.IsStruct)
                {
                    output.WriteBytesField(ValueStructTag, Arena(entry.Value));
                }
                else
                {
                    output.WriteBytesField(ValueStringTag, Arena(entry.Value));
                }
            }
        }
    }
}
