using Microsoft.Extensions.ObjectPool;
using Runtime.Transport.Grpc;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// <c>envoy.service.ext_proc.v3.ExternalProcessor/Process</c>: one call per HTTP request; reads
/// messages as they arrive and runs them through a pooled <see cref="ExtProcStream"/>.
/// </summary>
public sealed class ExtProcService
{
    public const string ProcessPath = "/envoy.service.ext_proc.v3.ExternalProcessor/Process";

    private readonly IExtProcProcessor _processor;
    private readonly ExtProcOptions _options;
    private readonly ObjectPool<ExtProcStream> _streams =
        new DefaultObjectPool<ExtProcStream>(new DefaultPooledObjectPolicy<ExtProcStream>(), 1024);

    public ExtProcService(IExtProcProcessor processor, ExtProcOptions options)
    {
        _processor = processor;
        _options = options;
    }

    private int _activeStreams;

    /// <summary>Streams open right now (each holds one pooled <see cref="ExtProcStream"/>).</summary>
    public int ActiveStreams => Volatile.Read(ref _activeStreams);

    public GrpcServiceTable CreateServiceTable(string listenerName) =>
        new(listenerName, [new(ProcessPath, ProcessAsync)]);

    public async Task ProcessAsync(GrpcCall call)
    {
        Interlocked.Increment(ref _activeStreams);
        var stream = _streams.Get();
        var handler = _processor.RentHandler();
        stream.Start(call, handler, _options);
        var aborted = true;
        try
        {
            while (!stream.IsFinished && await call.ReadMessageAsync().ConfigureAwait(false))
            {
                await stream.DispatchAsync(call.Message).ConfigureAwait(false);
            }

            aborted = false;
        }
        finally
        {
            stream.End(aborted);
            _processor.ReturnHandler(handler);
            stream.Reset();
            _streams.Return(stream);
            Interlocked.Decrement(ref _activeStreams);
        }
    }
}
