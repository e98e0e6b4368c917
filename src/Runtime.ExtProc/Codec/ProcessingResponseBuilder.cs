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
/// The encoding itself (sizes bottom-up, then writing) is in ProcessingResponseBuilder.Encoding.cs.
/// </para>
/// </remarks>
internal sealed partial class ProcessingResponseBuilder
{
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

    /// <summary>
    /// Sets <c>dynamic_metadata[filterNamespace][key]</c> to a Struct whose encoded fields are
    /// <paramref name="structFields"/>, built with <see cref="WriteNumberField"/> (e.g. llm-d's
    /// per-endpoint scores).
    /// </summary>
    public void AddDynamicMetadataStruct(ReadOnlySpan<byte> filterNamespace, ReadOnlySpan<byte> key, ReadOnlySpan<byte> structFields) =>
        AddDynamicMetadata(filterNamespace, key, CopyToArena(structFields), null, isStruct: true);

    /// <summary>Encoded size of one Struct field <c>{key: number}</c>.</summary>
    public static int NumberFieldSize(int keyLength) => (int)WireFormat.LengthDelimitedSize(NumberFieldContentSize(keyLength));

    /// <summary>Writes one Struct field <c>{key: Value{number_value}}</c> into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int WriteNumberField(Span<byte> destination, ReadOnlySpan<byte> key, double value)
    {
        var n = 0;
        destination[n++] = (byte)StructFieldsTag;
        n += WireFormat.WriteVarint(destination[n..], (ulong)NumberFieldContentSize(key.Length));
        destination[n++] = (byte)MapKeyTag;
        n += WireFormat.WriteVarint(destination[n..], (ulong)key.Length);
        key.CopyTo(destination[n..]);
        n += key.Length;
        destination[n++] = (byte)MapValueTag;
        destination[n++] = 9;
        destination[n++] = (byte)ValueNumberTag;
        System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(destination[n..], value);
        return n + 8;
    }

    private static long NumberFieldContentSize(int keyLength) => WireFormat.LengthDelimitedSize(keyLength) + WireFormat.LengthDelimitedSize(9);

    private void AddDynamicMetadata(ReadOnlySpan<byte> filterNamespace, ReadOnlySpan<byte> key, ByteRange valueRange, double? number, bool isStruct = false)
    {
        int namespaceIndex = FindOrAddNamespace(filterNamespace);
        Span<MetadataEntry> entries = _metadata.AsSpan(0, _metadataCount);
        for (int i = 0; i < entries.Length; i++)
        {
            ref MetadataEntry entry = ref entries[i];
            if (entry.NamespaceIndex == namespaceIndex && Arena(entry.Key).SequenceEqual(key))
            {
                entry = new MetadataEntry(namespaceIndex, entry.Key, valueRange, number, isStruct);
                _sizesValid = false;
                return;
            }
        }

        ByteRange keyRange = CopyToArena(key);
        PooledArray.EnsureCapacity(ref _metadata, _metadataCount, _metadataCount + 1);
        _metadata[_metadataCount++] = new MetadataEntry(namespaceIndex, keyRange, valueRange, number, isStruct);
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

    /// <summary>How many times <see cref="WriteTo"/> has finished: a sender can tell whether its reply is already in the pipe.</summary>
    public long WriteCount { get; private set; }

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
        WriteCount++;
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

    private readonly record struct ByteRange(int Start, int Length);

    private readonly record struct SetHeaderEntry(ByteRange Name, ByteRange Value, OptionalBool Append);

    private readonly record struct MetadataEntry(int NamespaceIndex, ByteRange Key, ByteRange Value, double? Number, bool IsStruct);

    private struct MetadataNamespace
    {
        public ByteRange Name;
        /// <summary>Content size of the namespace's inner Struct, set by <see cref="DynamicMetadataSize"/>.</summary>
        public long InnerStructSize;
    }
}
