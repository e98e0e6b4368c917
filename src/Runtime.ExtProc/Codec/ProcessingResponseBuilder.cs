using System.Buffers;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// Builds one <c>ProcessingResponse</c> and writes it without allocating. Reused per stream:
/// <see cref="Reset"/> starts a new response. Body sequences are referenced, not copied, so
/// they must stay valid until <see cref="WriteTo"/> returns.
/// </summary>
public sealed class ProcessingResponseBuilder
{
    public ProcessingResponseKind Kind => throw new NotImplementedException();
    public CommonResponseStatus Status { get => throw new NotImplementedException(); set => throw new NotImplementedException(); }
    public bool ClearRouteCache { get => throw new NotImplementedException(); set => throw new NotImplementedException(); }
    public void Reset(ProcessingResponseKind kind) => throw new NotImplementedException();
    public void SetHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool? append = null) => throw new NotImplementedException();
    public void RemoveHeader(ReadOnlySpan<byte> name) => throw new NotImplementedException();
    public void EnsureHeaderMutation() => throw new NotImplementedException();
    public void SetBody(in ReadOnlySequence<byte> body) => throw new NotImplementedException();
    public void SetClearBody() => throw new NotImplementedException();
    public void SetStreamedBody(in ReadOnlySequence<byte> chunk, bool endOfStream) => throw new NotImplementedException();
    public void SetImmediateResponse(int httpStatus, ReadOnlySpan<byte> body, ReadOnlySpan<byte> details, int? grpcStatus = null) => throw new NotImplementedException();
    public void AddDynamicMetadata(ReadOnlySpan<byte> filterNamespace, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => throw new NotImplementedException();
    public int CalculateSize() => throw new NotImplementedException();
    public void WriteTo(IBufferWriter<byte> writer) => throw new NotImplementedException();
    public void Release() => throw new NotImplementedException();
}
