using System.Buffers;
using System.Runtime.InteropServices;

namespace Runtime.Primitives.Buffers;

/// <summary>
/// The one place the process rents arrays from <see cref="ArrayPool{T}"/>: every rental and return
/// is counted, so tests (and the operator, through the host's <c>runtime_pooled_buffers_outstanding</c>) can
/// prove each stream gives back what it took — on clean ends, resets, deadlines and decode errors
/// alike. Arrays an owner keeps on purpose between uses (a reused scratch buffer) count until the
/// owner returns them.
/// </summary>
/// <remarks>
/// The count is striped over cache-line-padded slots picked by the current processor, so renters on
/// different cores do not contend on one line; a rental and its return may land on different slots,
/// only the sum means anything. <see cref="Outstanding"/> reads the slots without a lock: exact once
/// renters are quiet, which is when tests read it.
/// </remarks>
internal static class PooledBuffers
{
    public const string OutstandingGaugeName = "runtime_pooled_buffers_outstanding";

    public const string OutstandingGaugeHelp = "Arrays rented from the shared buffer pools and not yet returned (held by streams in flight or kept for reuse); a value that only grows is a leak.";

    /// <summary>Received messages up to this size come from the message pool (see <see cref="RentMessage"/>).</summary>
    public const int MessagePoolMaxLength = 1024 * 1024;

    public const string RetainedGaugeName = "runtime_buffer_pool_retained_bytes";

    public const string RetainedGaugeHelp = "Bytes of idle message and body arrays the buffer pool keeps for reuse (at most --buffer-pool-retain-bytes; dropped after an idle interval).";

    /// <summary>Default ceiling of <see cref="RetainedBytes"/>: what a few hundred 220 KB streams in flight reuse.</summary>
    public const long DefaultRetainCeiling = 64L * 1024 * 1024;

    /// <summary>How often the pool checks for idleness; an interval with no rental drops what it retains.</summary>
    public static readonly TimeSpan TrimInterval = TimeSpan.FromSeconds(10);

    /// <summary>Dropping at least this much asks the GC to give the memory back to the OS.</summary>
    private const long CompactAfterDropping = 8L * 1024 * 1024;

    private static readonly BoundedBytePool s_messages = new(MessagePoolMaxLength, DefaultRetainCeiling);
    private static readonly Timer s_trimmer = new(static _ => TrimIfIdle(), null, TrimInterval, TrimInterval);
    private static readonly PaddedCount[] s_slots = new PaddedCount[(int)Math.Min(64, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount))];

    /// <summary>Arrays rented and not yet returned, over every renter in the process.</summary>
    public static long Outstanding
    {
        get
        {
            long sum = 0;
            foreach (ref readonly var slot in s_slots.AsSpan())
            {
                sum += Volatile.Read(in slot.Value);
            }

            return sum;
        }
    }

    /// <summary>A byte array of at least <paramref name="minimumLength"/> from the shared pool.</summary>
    public static byte[] Rent(int minimumLength) => Rent<byte>(minimumLength);

    public static void Return(byte[] array) => Return<byte>(array);

    /// <summary>An array of at least <paramref name="minimumLength"/> items from <see cref="ArrayPool{T}.Shared"/>.</summary>
    public static T[] Rent<T>(int minimumLength)
    {
        Count(1);
        return ArrayPool<T>.Shared.Rent(minimumLength);
    }

    /// <summary>Gives back an array from <see cref="Rent{T}"/>; its contents are not cleared.</summary>
    public static void Return<T>(T[] array)
    {
        Count(-1);
        ArrayPool<T>.Shared.Return(array);
    }

    /// <summary>
    /// Received messages and accumulated body segments: up to <see cref="MessagePoolMaxLength"/>
    /// bytes, from a <see cref="BoundedBytePool"/>. A stream holds its current message until its reply
    /// is in the response pipe, and a router its gathered body until the decision is sent: under a
    /// burst that is far more than the shared pool keeps per core, and a miss would allocate on the
    /// large object heap. What the pool keeps between bursts is capped (<see cref="SetRetainCeiling"/>)
    /// and dropped when idle. Larger messages are rented from the shared pool.
    /// </summary>
    public static byte[] RentMessage(int minimumLength)
    {
        Count(1);
        return minimumLength <= MessagePoolMaxLength ? s_messages.Rent(minimumLength) : ArrayPool<byte>.Shared.Rent(minimumLength);
    }

    public static void ReturnMessage(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        Count(-1);
        if (array.Length <= MessagePoolMaxLength)
        {
            s_messages.Return(array);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    /// <summary>An array from a pool of the caller's own, counted in <see cref="Outstanding"/> like the others.</summary>
    public static byte[] Rent(BoundedBytePool pool, int minimumLength)
    {
        ArgumentNullException.ThrowIfNull(pool);
        Count(1);
        return pool.Rent(minimumLength);
    }

    public static void Return(BoundedBytePool pool, byte[] array)
    {
        ArgumentNullException.ThrowIfNull(pool);
        Count(-1);
        pool.Return(array);
    }

    /// <summary>Bytes of idle arrays kept for reuse (<see cref="RetainedGaugeName"/>).</summary>
    public static long RetainedBytes => s_messages.Retained;

    /// <summary><c>--buffer-pool-retain-bytes</c>: the most the message pool keeps between uses.</summary>
    public static void SetRetainCeiling(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        s_messages.RetainCeiling = bytes;
        GC.KeepAlive(s_trimmer);
    }

    /// <summary>
    /// Drops the pool's idle arrays after an interval without rentals and, when that was a lot,
    /// has the GC compact and return the memory to the OS, so RSS falls back after a burst.
    /// </summary>
    internal static void TrimIfIdle() => CompactIfMuchDropped(s_messages.TrimIfIdle());

    /// <summary>
    /// After a pool dropped <paramref name="droppedBytes"/> of idle arrays: when that was a lot, has
    /// the GC collect and give the memory back to the OS now, rather than at the next collection
    /// (which an idle process may not have for minutes).
    /// </summary>
    public static void CompactIfMuchDropped(long droppedBytes)
    {
        if (droppedBytes >= CompactAfterDropping)
        {
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    private static void Count(long delta) =>
        Interlocked.Add(ref s_slots[Thread.GetCurrentProcessorId() & (s_slots.Length - 1)].Value, delta);

    /// <summary>One slot per cache line (64 bytes), so neighbouring slots never share one.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    private struct PaddedCount
    {
        [FieldOffset(0)]
        public long Value;
    }
}
