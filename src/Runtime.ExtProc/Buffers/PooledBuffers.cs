using System.Buffers;

namespace Runtime.ExtProc.Buffers;

/// <summary>
/// The one place ext_proc code rents byte arrays. Counts rentals still out, so tests (and the
/// operator, through metrics later) can prove every stream returns what it took — on clean
/// ends, resets, deadlines and decode errors alike. One interlocked add per rental, never per
/// message in steady state.
/// </summary>
public static class PooledBuffers
{
    private static long s_outstanding;

    /// <summary>Arrays rented and not yet returned.</summary>
    public static long Outstanding => Volatile.Read(ref s_outstanding);

    public static byte[] Rent(int minimumLength)
    {
        Interlocked.Increment(ref s_outstanding);
        return ArrayPool<byte>.Shared.Rent(minimumLength);
    }

    public static void Return(byte[] array)
    {
        Interlocked.Decrement(ref s_outstanding);
        ArrayPool<byte>.Shared.Return(array);
    }

    /// <summary>
    /// Received messages: up to <see cref="MessagePoolMaxLength"/> bytes, from a pool that keeps up
    /// to <see cref="MessagePoolArraysPerSize"/> arrays per size. Every stream in flight holds its
    /// current message (a 220 KB body is held while its echo drains to a slow client), far more
    /// than the shared pool keeps per core; a miss would allocate on the large object heap.
    /// What it retains is bounded by the peak number of messages in flight, as Kestrel's own
    /// block pool is. Larger messages are rented from the shared pool.
    /// </summary>
    public static byte[] RentMessage(int minimumLength)
    {
        Interlocked.Increment(ref s_outstanding);
        return minimumLength <= MessagePoolMaxLength ? s_messages.Rent(minimumLength) : ArrayPool<byte>.Shared.Rent(minimumLength);
    }

    public static void ReturnMessage(byte[] array)
    {
        Interlocked.Decrement(ref s_outstanding);
        if (array.Length <= MessagePoolMaxLength)
        {
            s_messages.Return(array);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    public const int MessagePoolMaxLength = 1024 * 1024;

    public const int MessagePoolArraysPerSize = 256;

    private static readonly ArrayPool<byte> s_messages = ArrayPool<byte>.Create(MessagePoolMaxLength, MessagePoolArraysPerSize);
}
