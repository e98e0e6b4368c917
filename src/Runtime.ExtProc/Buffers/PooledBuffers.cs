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
}
