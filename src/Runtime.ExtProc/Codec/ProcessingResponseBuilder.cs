using System.Buffers;
using System.Runtime.CompilerServices;
using Runtime.Primitives.Wire;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// Builds one <c>ProcessingResponse</c> and writes it without allocating. Reused per stream:
/// <see cref="Reset"/> starts a new response. Body sequences are referenced, not copied, so
/// they must stay valid until <see cref="WriteTo"/> returns.
/// </summary>
/// <remarks>
/// <para>
/// Output is proto3 canonical and byte-for-byte what Google.Protobuf writes for the equivalent
/// message: fields in number order, defaults omitted, minimal varints. Sub-messages Envoy needs
/// to see are written even when empty: <c>HeadersResponse</c>/<c>BodyResponse.response</c>
/// always, <c>header_mutation</c> once any header is set or removed or
/// <see cref="EnsureHeaderMutation"/> was called.
/// </para>
/// <para>
/// Members that do not apply to the current <see cref="Kind"/> throw
/// <see cref="InvalidOperationException"/> rather than being silently dropped; assigning the
/// default value of <see cref="Status"/> or <see cref="ClearRouteCache"/> is always allowed.
/// </para>
/// <para>
/// Header names and values, removals, immediate-response text and dynamic metadata are copied
/// into one pooled byte arena at call time; bodies are copied only by <see cref="WriteTo"/>.
/// Storage is kept across <see cref="Reset"/> and returned by <see cref="Release"/>.
/// Benchmark: perf/Runtime.Benchmarks/ExtProc/ExtProcCodecBenchmark.cs (EncodeRequestHeadersResponse).
/// </para>
/// </remarks>
public sealed class ProcessingResponseBuilder
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

    // Arena for every copied string; entries below address it by ByteRange.
    private byte[] _bytes = [];
    private int _bytesUsed;
    private SetHeaderEntry[] _setHeaders = [];
    private int _setHeaderCount;
    private ByteRange[] _removeHeaders = [];
    private int _removeHeaderCount;
    private MetadataNamespace[] _namespaces = [];
    private int _namespaceCount;
    private MetadataEntry[] _metadata = [];
    private int _metadataCount;

    private ProcessingResponseKind _kind;
    private CommonResponseStatus _status;
    private bool _clearRouteCache;
    private bool _headerMutationRequested;
    private BodyMutationKind _bodyMutationKind;
    private ReadOnlySequence<byte> _body;
    private bool _streamedEndOfStream;
    private bool _hasImmediateStatus;
    private int _httpStatus;
    private ByteRange _immediateBody;
    private ByteRange _immediateDetails;
    private bool _hasGrpcStatus;
    private uint _grpcStatus;

    // Sizes computed bottom-up by CalculateSize and consumed by WriteTo; any mutation invalidates them.
    private bool _sizesValid;
    private int _totalSize;
    private int _responseSize;
    private int _commonSize;
    private int _headerMutationSize;
    private int _bodyMutationSize;
    private int _streamedSize;
    private int _httpStatusSize;
    private int _grpcStatusSize;
    private int _metadataSize;

    private enum BodyMutationKind : byte
    {
        None,
        Body,
        ClearBody,
        Streamed,
    }

    private enum OptionalBool : byte
    {
        Unset,
        False,
        True,
    }

    public ProcessingResponseKind Kind => _kind;

    /// <summary><c>CommonResponse.status</c> (headers and body responses only).</summary>
    public CommonResponseStatus Status
    {
        get => _status;
        set
        {
            if (value != CommonResponseStatus.Continue)
            {
                RequireCommonResponse(nameof(Status));
            }

            _status = value;
            _sizesValid = false;
        }
    }

    /// <summary>
    /// <c>CommonResponse.clear_route_cache</c> (headers and body responses only). Envoy honours it
    /// only when the response also carries a header mutation: call <see cref="EnsureHeaderMutation"/>
    /// unless headers are set or removed anyway.
    /// </summary>
    public bool ClearRouteCache
    {
        get => _clearRouteCache;
        set
        {
            if (value)
            {
                RequireCommonResponse(nameof(ClearRouteCache));
            }

            _clearRouteCache = value;
            _sizesValid = false;
        }
    }

    /// <summary>Starts a new response of oneof member <paramref name="kind"/>; keeps pooled storage.</summary>
    public void Reset(ProcessingResponseKind kind)
    {
        if ((uint)kind > (uint)ProcessingResponseKind.ImmediateResponse)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(kind));
        }

        _kind = kind;
        _status = CommonResponseStatus.Continue;
        _clearRouteCache = false;
        _headerMutationRequested = false;
        _bodyMutationKind = BodyMutationKind.None;
        _body = default;
        _streamedEndOfStream = false;
        _hasImmediateStatus = false;
        _httpStatus = 0;
        _immediateBody = default;
        _immediateDetails = default;
        _hasGrpcStatus = false;
        _grpcStatus = 0;
        _bytesUsed = 0;
        _setHeaderCount = 0;
        _removeHeaderCount = 0;
        _namespaceCount = 0;
        _metadataCount = 0;
        _sizesValid = false;
    }

    /// <summary>
    /// Adds a <c>HeaderValueOption</c> to the response's header mutation (the immediate response's
    /// headers for <see cref="ProcessingResponseKind.ImmediateResponse"/>). The value goes in
    /// <c>raw_value</c> only: Envoy reads nothing else. <paramref name="append"/> null leaves the
    /// <c>append</c> BoolValue unset, which Envoy treats as overwrite.
    /// </summary>
    public void SetHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool? append = null)
    {
        RequireHeaderMutation(nameof(SetHeader));
        ByteRange nameRange = CopyToArena(name);
        ByteRange valueRange = CopyToArena(value);
        OptionalBool appendFlag = append switch
        {
            null => OptionalBool.Unset,
            true => OptionalBool.True,
            false => OptionalBool.False,
        };
        PooledArray.EnsureCapacity(ref _setHeaders, _setHeaderCount, _setHeaderCount + 1);
        _setHeaders[_setHeaderCount++] = new SetHeaderEntry(nameRange, valueRange, appendFlag);
        _headerMutationRequested = true;
        _sizesValid = false;
    }

    /// <summary>Adds <paramref name="name"/> to <c>HeaderMutation.remove_headers</c>.</summary>
    public void RemoveHeader(ReadOnlySpan<byte> name)
    {
        RequireHeaderMutation(nameof(RemoveHeader));
        ByteRange nameRange = CopyToArena(name);
        PooledArray.EnsureCapacity(ref _removeHeaders, _removeHeaderCount, _removeHeaderCount + 1);
        _removeHeaders[_removeHeaderCount++] = nameRange;
        _headerMutationRequested = true;
        _sizesValid = false;
    }

    /// <summary>Makes the header mutation be written even when it is empty.</summary>
    public void EnsureHeaderMutation()
    {
        RequireHeaderMutation(nameof(EnsureHeaderMutation));
        _headerMutationRequested = true;
        _sizesValid = false;
    }

    /// <summary>Replaces the body (<c>BodyMutation.body</c>); the sequence is copied only by <see cref="WriteTo"/>.</summary>
    public void SetBody(in ReadOnlySequence<byte> body)
    {
        RequireCommonResponse(nameof(SetBody));
        _bodyMutationKind = BodyMutationKind.Body;
        _body = body;
        _streamedEndOfStream = false;
        _sizesValid = false;
    }

    /// <summary>Clears the body (<c>BodyMutation.clear_body</c>).</summary>
    public void SetClearBody()
    {
        RequireCommonResponse(nameof(SetClearBody));
        _bodyMutationKind = BodyMutationKind.ClearBody;
        _body = default;
        _streamedEndOfStream = false;
        _sizesValid = false;
    }

    /// <summary>Sends a full-duplex chunk (<c>BodyMutation.streamed_response</c>); copied only by <see cref="WriteTo"/>.</summary>
    public void SetStreamedBody(in ReadOnlySequence<byte> chunk, bool endOfStream)
    {
        RequireCommonResponse(nameof(SetStreamedBody));
        _bodyMutationKind = BodyMutationKind.Streamed;
        _body = chunk;
        _streamedEndOfStream = endOfStream;
        _sizesValid = false;
    }

    /// <summary>
    /// Fills the <c>ImmediateResponse</c> (requires <see cref="ProcessingResponseKind.ImmediateResponse"/>).
    /// <paramref name="body"/> and <paramref name="details"/> are UTF-8 and copied now;
    /// <c>grpc_status</c> is written only when <paramref name="grpcStatus"/> is not null.
    /// </summary>
    public void SetImmediateResponse(int httpStatus, ReadOnlySpan<byte> body, ReadOnlySpan<byte> details, int? grpcStatus = null)
    {
        if (_kind != ProcessingResponseKind.ImmediateResponse)
        {
            ThrowNotApplicable(nameof(SetImmediateResponse));
        }

        _hasImmediateStatus = true;
        _httpStatus = httpStatus;
        _immediateBody = CopyToArena(body);
        _immediateDetails = CopyToArena(details);
        _hasGrpcStatus = grpcStatus.HasValue;
        _grpcStatus = (uint)grpcStatus.GetValueOrDefault();
        _sizesValid = false;
    }

    /// <summary>
    /// Sets <c>dynamic_metadata[filterNamespace][key] = value</c> (a string). Namespaces keep the
    /// order they were first added in and keys their insertion order, as Google.Protobuf's
    /// <c>MapField</c> does; setting an existing key replaces its value in place.
    /// </summary>
    public void AddDynamicMetadata(ReadOnlySpan<byte> filterNamespace, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        AddDynamicMetadata(filterNamespace, key, CopyToArena(value), null);

    /// <summary>Sets <c>dynamic_metadata[filterNamespace][key] = value</c> as a number (<c>Value.number_value</c>).</summary>
    public void AddDynamicMetadata(ReadOnlySpan<byte> filterNamespace, ReadOnlySpan<byte> key, double value) =>
        AddDynamicMetadata(filterNamespace, key, default, value);

    private void AddDynamicMetadata(ReadOnlySpan<byte> filterNamespace, ReadOnlySpan<byte> key, ByteRange valueRange, double? number)
    {
        int namespaceIndex = FindOrAddNamespace(filterNamespace);
        Span<MetadataEntry> entries = _metadata.AsSpan(0, _metadataCount);
        for (int i = 0; i < entries.Length; i++)
        {
            ref MetadataEntry entry = ref entries[i];
            if (entry.NamespaceIndex == namespaceIndex && Arena(entry.Key).SequenceEqual(key))
            {
                entry = new MetadataEntry(namespaceIndex, entry.Key, valueRange, number);
                _sizesValid = false;
                return;
            }
        }

        ByteRange keyRange = CopyToArena(key);
        PooledArray.EnsureCapacity(ref _metadata, _metadataCount, _metadataCount + 1);
        _metadata[_metadataCount++] = new MetadataEntry(namespaceIndex, keyRange, valueRange, number);
        _sizesValid = false;
    }

    /// <summary>Encoded size in bytes (what <see cref="WriteTo"/> will write); the gRPC length prefix.</summary>
    public int CalculateSize()
    {
        if (!_sizesValid)
        {
            ComputeSizes();
        }

        return _totalSize;
    }

    /// <summary>Writes the response. Referenced bodies are copied into <paramref name="writer"/> here.</summary>
    public void WriteTo(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!_sizesValid)
        {
            ComputeSizes();
        }

        var output = new ProtoWriter(writer);
        switch (_kind)
        {
            case ProcessingResponseKind.RequestHeaders:
            case ProcessingResponseKind.ResponseHeaders:
            case ProcessingResponseKind.RequestBody:
            case ProcessingResponseKind.ResponseBody:
                output.WriteLengthDelimitedHeader(OneofTag(_kind), _responseSize);
                output.WriteLengthDelimitedHeader(CommonResponseTag, _commonSize);
                WriteCommonResponse(ref output);
                break;
            case ProcessingResponseKind.RequestTrailers:
            case ProcessingResponseKind.ResponseTrailers:
                output.WriteLengthDelimitedHeader(OneofTag(_kind), _responseSize);
                if (_headerMutationRequested)
                {
                    output.WriteLengthDelimitedHeader(TrailersHeaderMutationTag, _headerMutationSize);
                    WriteHeaderMutation(ref output);
                }

                break;
            case ProcessingResponseKind.ImmediateResponse:
                output.WriteLengthDelimitedHeader(OneofTag(_kind), _responseSize);
                WriteImmediateResponse(ref output);
                break;
        }

        if (_metadataCount > 0)
        {
            output.WriteLengthDelimitedHeader(DynamicMetadataTag, _metadataSize);
            WriteDynamicMetadata(ref output);
        }

        output.Flush();
    }

    /// <summary>Returns pooled storage and drops body references; the builder may be reused after <see cref="Reset"/>.</summary>
    public void Release()
    {
        Reset(ProcessingResponseKind.None);
        PooledArray.Return(ref _bytes);
        PooledArray.Return(ref _setHeaders);
        PooledArray.Return(ref _removeHeaders);
        PooledArray.Return(ref _namespaces);
        PooledArray.Return(ref _metadata);
    }

    private static uint OneofTag(ProcessingResponseKind kind) => ((uint)kind << 3) | WireFormat.WireTypeLengthDelimited;

    private bool IsCommonResponseKind =>
        _kind is >= ProcessingResponseKind.RequestHeaders and <= ProcessingResponseKind.ResponseBody;

    private void RequireCommonResponse(string member)
    {
        if (!IsCommonResponseKind)
        {
            ThrowNotApplicable(member);
        }
    }

    private void RequireHeaderMutation(string member)
    {
        if (_kind == ProcessingResponseKind.None)
        {
            ThrowNotApplicable(member);
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowNotApplicable(string member) =>
        ThrowHelper.ThrowInvalidOperation($"{member} does not apply to a ProcessingResponse of kind {_kind}.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Arena(ByteRange range) => _bytes.AsSpan(range.Start, range.Length);

    private ByteRange CopyToArena(ReadOnlySpan<byte> value)
    {
        int start = _bytesUsed;
        long end = (long)start + value.Length;
        if (end > Array.MaxLength)
        {
            ThrowHelper.ThrowTooLarge("Response");
        }

        PooledArray.EnsureCapacity(ref _bytes, _bytesUsed, (int)end);
        value.CopyTo(_bytes.AsSpan(start));
        _bytesUsed = (int)end;
        return new ByteRange(start, value.Length);
    }

    private int FindOrAddNamespace(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < _namespaceCount; i++)
        {
            if (Arena(_namespaces[i].Name).SequenceEqual(name))
            {
                return i;
            }
        }

        ByteRange nameRange = CopyToArena(name);
        PooledArray.EnsureCapacity(ref _namespaces, _namespaceCount, _namespaceCount + 1);
        _namespaces[_namespaceCount] = new MetadataNamespace { Name = nameRange };
        return _namespaceCount++;
    }

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

    /// <summary>Value{number_value} is a tag and 8 bytes; Value{string_value} is length-delimited.</summary>
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
                else
                {
                    output.WriteBytesField(ValueStringTag, Arena(entry.Value));
                }
            }
        }
    }

    private readonly record struct ByteRange(int Start, int Length);

    private readonly record struct SetHeaderEntry(ByteRange Name, ByteRange Value, OptionalBool Append);

    private readonly record struct MetadataEntry(int NamespaceIndex, ByteRange Key, ByteRange Value, double? Number);

    private struct MetadataNamespace
    {
        public ByteRange Name;
        /// <summary>Content size of the namespace's inner Struct, set by <see cref="DynamicMetadataSize"/>.</summary>
        public long InnerStructSize;
    }
}
