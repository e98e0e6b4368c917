using System.Runtime.CompilerServices;
using Runtime.Primitives.Buffers;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// Growth and return of pooled arrays held in fields (rented through <see cref="PooledBuffers"/>, so they are counted). Callers keep the array
/// and its used count themselves; an empty array means "nothing rented".
/// </summary>
internal static class PooledArray
{
    private const int MinimumLength = 16;

    /// <summary>Makes <paramref name="array"/> hold at least <paramref name="required"/> items, keeping the first <paramref name="used"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void EnsureCapacity<T>(ref T[] array, int used, int required)
    {
        if ((uint)required > (uint)array.Length)
        {
            Grow(ref array, used, required);
        }
    }

    /// <summary>Returns the array to the pool and leaves an empty one in its place.</summary>
    public static void Return<T>(ref T[] array)
    {
        T[] rented = array;
        array = [];
        if (rented.Length != 0)
        {
            // Only unmanaged entry structs and bytes live in these arrays: nothing to clear.
            PooledBuffers.Return(rented);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Grow<T>(ref T[] array, int used, int required)
    {
        if (required < 0 || required > Array.MaxLength)
        {
            ThrowHelper.ThrowTooLarge("Pooled array");
        }

        // Doubling keeps the number of copies logarithmic while a stream's working set settles.
        long doubled = Math.Max((long)array.Length * 2, MinimumLength);
        int length = (int)Math.Min(Math.Max(doubled, required), Array.MaxLength);
        T[] next = PooledBuffers.Rent<T>(length);
        array.AsSpan(0, used).CopyTo(next);
        Return(ref array);
        array = next;
    }
}
