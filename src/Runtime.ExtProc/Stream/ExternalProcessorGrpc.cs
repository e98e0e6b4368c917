using Grpc.Core;
using Runtime.ExtProc.Codec;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// <c>envoy.service.ext_proc.v3.ExternalProcessor</c> in the shape Grpc.Tools generates, with
/// our zero-allocation codec as the marshallers: a compressed call's requests are copied into a
/// pooled <see cref="ExtProcPayload"/> (other calls are read straight off the request pipe, see
/// <see cref="PipeRequestMessages"/>); a <see cref="ProcessingResponseBuilder"/> writes itself straight
/// into the response pipe through <see cref="SerializationContext.GetBufferWriter"/>.
/// </summary>
internal static class ExternalProcessorGrpc
{
    public const string ServiceName = "envoy.service.ext_proc.v3.ExternalProcessor";

    public static readonly Marshaller<ProcessingResponseBuilder> ResponseMarshaller = Marshallers.Create<ProcessingResponseBuilder>(
        static (response, context) =>
        {
            context.SetPayloadLength(response.CalculateSize());
            response.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        static _ => throw new NotSupportedException("ProcessingResponse is only sent."));

    public static readonly Method<ExtProcPayload, ProcessingResponseBuilder> ProcessMethod =
        new(MethodType.DuplexStreaming, ServiceName, "Process", ExtProcPayload.Marshaller, ResponseMarshaller);

    /// <summary>Called by Grpc.AspNetCore (with a null implementation) to discover the method.</summary>
    public static void BindService(ServiceBinderBase serviceBinder, ExternalProcessorBase? serviceImpl)
    {
        ArgumentNullException.ThrowIfNull(serviceBinder);
        serviceBinder.AddMethod(ProcessMethod, serviceImpl is null ? null : new DuplexStreamingServerMethod<ExtProcPayload, ProcessingResponseBuilder>(serviceImpl.Process));
    }
}

/// <summary>Base of an ext_proc implementation.</summary>
[BindServiceMethod(typeof(ExternalProcessorGrpc), nameof(ExternalProcessorGrpc.BindService))]
internal abstract class ExternalProcessorBase
{
    public virtual Task Process(IAsyncStreamReader<ExtProcPayload> requestStream, IServerStreamWriter<ProcessingResponseBuilder> responseStream, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, ""));
}
