using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Runtime.Primitives.Buffers;

namespace Runtime.Transport.Hosting;

/// <summary>
/// The memory Kestrel's socket transport reads into and writes from: pinned blocks of
/// <see cref="SocketBlockSize"/> bytes instead of Kestrel's 4 KB. Each socket read fills at most one
/// block, so a 220 KB prompt took 55 <c>recv</c> calls with 4 KB blocks (on a VM a syscall costs
/// more than copying the 4 KB it moves) and takes 4 with 64 KB ones. Kestrel's HTTP/2 stream pipes
/// take their blocks from the same pool, so a message lands in 4 segments instead of 55. A stream
/// holds blocks only while data waits in its pipes, and Envoy keeps few connections open, so the
/// larger blocks cost memory only in flight (perf/README: 16 or 32 KB blocks for the stream pipes
/// saved 8–10 MiB at 256 streams and lost 10–28 % of the exchanges/s at 220 KB).
/// </summary>
/// <remarks>
/// What the pool keeps between uses follows demand: every <see cref="TrimInterval"/> it drops the
/// idle blocks that the busiest moment of the previous interval did not need, so after a burst
/// the blocks go within two intervals, and at most <see cref="RetainCeiling"/> bytes are kept at any
/// time. Blocks are allocated on the pinned object heap, so socket I/O never pins them per call.
/// </remarks>
internal sealed class PinnedBlockPool : MemoryPool<byte>
{
    /// <summary>Blocks the socket transport reads into: one HTTP/2 frame of our largest size, and its header.</summary>
    public const int SocketBlockSize = 64 * 1024;

    /// <summary>How often the pool drops what recent demand did not use.</summary>
    public static readonly TimeSpan TrimInterval = TimeSpan.FromSeconds(10);

    // Last in, first out: the block given back most recently is still in the CPU's cache.
    private readonly Stack<Block> _idle = new();
    private readonly Lock _idleLock = new();
    private readonly Timer? _trimmer;
    private int _idleCount; // _idle.Count, published for reads without the lock
    private int _rented;
    private int _peakRentedSinceTrim;
    private bool _disposed;

    public PinnedBlockPool(int blockSize, long retainCeiling, bool trimOnTimer = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1024);
        ArgumentOutOfRangeException.ThrowIfNegative(retainCeiling);
        BlockSize = blockSize;
        RetainCeiling = retainCeiling;
        if (trimOnTimer)
        {
            _trimmer = new Timer(static state => ((PinnedBlockPool)state!).Trim(), this, TrimInterval, TrimInterval);
        }
    }

    public int BlockSize { get; }

    /// <summary>The most bytes of idle blocks kept for reuse.</summary>
    public long RetainCeiling { get; }

    /// <summary>Blocks handed out and not yet given back.</summary>
    public int Rented => Volatile.Read(ref _rented);

    /// <summary>Bytes of idle blocks kept for reuse now.</summary>
    public long RetainedBytes => (long)Volatile.Read(ref _idleCount) * BlockSize;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        var rented = Interlocked.Increment(ref _rented);
        if (rented > Volatile.Read(ref _peakRentedSinceTrim))
        {
            // A lost race only lowers the peak by a block or two; the next interval corrects it.
            Volatile.Write(ref _peakRentedSinceTrim, rented);
        }

        if (TryTakeIdle() is { } block)
        {
            block.Lease();
            return block;
        }

        return new Block(this);
    }

    /// <summary>
    /// Drops the idle blocks the busiest moment since the previous call would not have needed;
    /// returns the bytes dropped. Runs on the timer; tests call it directly.
    /// </summary>
    public long Trim()
    {
        var rented = Volatile.Read(ref _rented);
        var peak = Math.Max(Interlocked.Exchange(ref _peakRentedSinceTrim, rented), rented);
        var keep = peak - rented;
        long dropped = 0;
        while (Volatile.Read(ref _idleCount) > keep && TryTakeIdle() is not null)
        {
            dropped += BlockSize;
        }

        PooledBuffers.CompactIfMuchDropped(dropped);
        return dropped;
    }

    private void Give(Block block)
    {
        Interlocked.Decrement(ref _rented);
        if (_disposed)
        {
            return;
        }

        lock (_idleLock)
        {
            // Past the ceiling the block is left to the GC.
            if ((long)(_idle.Count + 1) * BlockSize > RetainCeiling)
            {
                return;
            }

            _idle.Push(block);
            Volatile.Write(ref _idleCount, _idle.Count);
        }
    }

    private Block? TryTakeIdle()
    {
        lock (_idleLock)
        {
            if (!_idle.TryPop(out var block))
            {
                return null;
            }

            Volatile.Write(ref _idleCount, _idle.Count);
            return block;
        }
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _trimmer?.Dispose();
        lock (_idleLock)
        {
            _idle.Clear();
            Volatile.Write(ref _idleCount, 0);
        }
    }

    private sealed class Block : IMemoryOwner<byte>
    {
        private readonly PinnedBlockPool _pool;
        private int _leased = 1;

        public Block(PinnedBlockPool pool)
        {
            _pool = pool;
            Memory = MemoryMarshal.CreateFromPinnedArray(GC.AllocateUninitializedArray<byte>(pool.BlockSize, pinned: true), 0, pool.BlockSize);
        }

        public Memory<byte> Memory { get; }

        public void Lease() => Volatile.Write(ref _leased, 1);

        public void Dispose()
        {
            // Pipes dispose a segment's memory once; a second dispose must not put it in the queue twice.
            if (Interlocked.Exchange(ref _leased, 0) == 1)
            {
                _pool.Give(this);
            }
        }
    }
}

/// <summary>
/// Gives Kestrel's transport <see cref="PinnedBlockPool"/>s of <see cref="PinnedBlockPool.SocketBlockSize"/>
/// (one per listener) and sums what they hold for the metrics page.
/// </summary>
internal sealed class SocketBlockPoolFactory(long retainCeiling) : IMemoryPoolFactory<byte>
{
    public const string HeldGaugeName = "runtime_transport_buffer_bytes";

    public const string HeldGaugeHelp = "Bytes of the socket transport's buffer blocks, by state: in_use (holding received or unsent data) or idle (kept for reuse, dropped when recent traffic did not need them).";

    private readonly List<PinnedBlockPool> _pools = [];

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        var pool = new PinnedBlockPool(PinnedBlockPool.SocketBlockSize, retainCeiling);
        lock (_pools)
        {
            _pools.Add(pool);
        }

        return pool;
    }

    /// <summary>Bytes in blocks handed out now, over every pool made.</summary>
    public long InUseBytes => Sum(static pool => (long)pool.Rented * pool.BlockSize);

    /// <summary>Bytes in idle blocks kept for reuse, over every pool made.</summary>
    public long IdleBytes => Sum(static pool => pool.RetainedBytes);

    private long Sum(Func<PinnedBlockPool, long> bytes)
    {
        lock (_pools)
        {
            long sum = 0;
            foreach (var pool in _pools)
            {
                sum += bytes(pool);
            }

            return sum;
        }
    }
}
