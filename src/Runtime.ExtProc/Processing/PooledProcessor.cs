using Microsoft.Extensions.ObjectPool;
using Runtime.ExtProc.Stream;

namespace Runtime.ExtProc.Processing;

/// <summary>
/// A processor whose per-stream handlers are pooled: a stream rents one, and it comes back reset
/// when the stream ends, so a request allocates no handler state. Disposable handlers (those that
/// keep pooled buffers between requests) give them back when the full pool turns one away and
/// when the processor is disposed.
/// </summary>
internal abstract class PooledProcessor<THandler> : IExtProcProcessor, IDisposable
    where THandler : RequestRoutingHandler
{
    private readonly ObjectPool<THandler> _handlers;

    protected PooledProcessor(int maxRetained = 1024)
    {
        _handlers = new DefaultObjectPoolProvider { MaximumRetained = maxRetained }.Create(new Policy(this));
    }

    public void Dispose()
    {
        (_handlers as IDisposable)?.Dispose();
        GC.SuppressFinalize(this);
    }

    public abstract string Name { get; }

    public ExtProcStreamHandler RentHandler() => _handlers.Get();

    public void ReturnHandler(ExtProcStreamHandler handler) => _handlers.Return((THandler)handler);

    protected abstract THandler CreateHandler();

    private sealed class Policy(PooledProcessor<THandler> owner) : PooledObjectPolicy<THandler>
    {
        public override THandler Create() => owner.CreateHandler();

        public override bool Return(THandler obj)
        {
            obj.Reset();
            return true;
        }
    }
}
