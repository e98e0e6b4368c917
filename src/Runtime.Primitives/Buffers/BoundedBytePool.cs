namespace Runtime.Primitives.Buffers;

/// <summary>
/// A byte-array pool whose retained memory has a ceiling and drains when idle. Received messages
/// and accumulated bodies come from here: a burst of 256 streams × 220 KB needs tens of MB of
/// arrays, and a pool that keeps them forever (as <c>ArrayPool.Create</c>'s does, and as the
/// shared pool does until a gen-2 collection finds them a minute old) holds that memory long
/// after the burst. Arrays given back past <see cref="RetainCeiling"/> are left to the GC; an
/// interval with no rental at all drops everything retained (<see cref="TrimIfIdle"/>).
/// </summary>
internal sealed class BoundedBytePool
{
    private const int SmallestClassLog2 = 12;
    private const int SmallestClass = 1 << SmallestClassLog2; // 4 KB

    private readonly Bucket[] _buckets;
    private long _retained;
    private int _rentedSinceTrim;

    public BoundedBytePool(int maxArrayLength, long retainCeiling)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxArrayLength, SmallestClass);
        ArgumentOutOfRangeException.ThrowIfNegative(retainCeiling);
        MaxArrayLength = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)maxArrayLength);
        RetainCeiling = retainCeiling;
        _buckets = new Bucket[ClassOf(MaxArrayLength) + 1];
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = new Bucket(LengthOf(i));
        }
    }

    /// <summary>Requests above this size are plain allocations, never retained.</summary>
    public int MaxArrayLength { get; }

    /// <summary>At most this many bytes of idle arrays are kept for reuse.</summary>
    public long RetainCeiling { get; set; }

    /// <summary>Bytes of idle arrays kept for reuse now.</summary>
    public long Retained => Volatile.Read(ref _retained);

    public byte[] Rent(int minimumLength)
    {
        Volatile.Write(ref _rentedSinceTrim, 1);
        if (minimumLength > MaxArrayLength)
        {
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }

        var bucket = _buckets[ClassOf(minimumLength)];
        if (bucket.TryPop() is { } array)
        {
            Interlocked.Add(ref _retained, -array.Length);
            return array;
        }

        return GC.AllocateUninitializedArray<byte>(bucket.Length);
    }

    /// <summary>Takes back an array from <see cref="Rent"/>; keeps it only under the ceiling.</summary>
    public void Return(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length > MaxArrayLength || array.Length < SmallestClass || _buckets[ClassOf(array.Length)].Length != array.Length)
        {
            return;
        }

        if (Interlocked.Add(ref _retained, array.Length) > RetainCeiling)
        {
            Interlocked.Add(ref _retained, -array.Length);
            return;
        }

        _buckets[ClassOf(array.Length)].Push(array);
    }

    /// <summary>
    /// Drops every retained array when nothing was rented since the previous call; returns the
    /// bytes dropped (0 while busy). Called on a timer, so a burst's arrays go once it is over.
    /// </summary>
    public long TrimIfIdle()
    {
        if (Interlocked.Exchange(ref _rentedSinceTrim, 0) != 0)
        {
            return 0;
        }

        long dropped = 0;
        foreach (var bucket in _buckets)
        {
            while (bucket.TryPop() is { } array)
            {
                Interlocked.Add(ref _retained, -array.Length);
                dropped += array.Length;
            }
        }

        return dropped;
    }

    // Size classes are quarter steps between powers of two (4 KB, 5 KB, 6 KB, 7 KB, 8 KB, 10 KB, ...):
    // a 220 KB prompt takes a 224 KB array, not 256 KB, so a burst of them holds an eighth less.
    private static int ClassOf(int length)
    {
        if (length <= SmallestClass)
        {
            return 0;
        }

        // 2^octave < length <= 2^(octave+1); the class is the first quarter step at or above length.
        var octave = System.Numerics.BitOperations.Log2((uint)length - 1);
        var quarter = octave - 2;
        var steps = (length - (1 << octave) + (1 << quarter) - 1) >> quarter;
        return ((octave - SmallestClassLog2) * 4) + steps;
    }

    private static int LengthOf(int sizeClass)
    {
        if (sizeClass == 0)
        {
            return SmallestClass;
        }

        var octave = SmallestClassLog2 + ((sizeClass - 1) / 4);
        return (1 << octave) + ((((sizeClass - 1) % 4) + 1) << (octave - 2));
    }

    /// <summary>A locked stack of same-length arrays (the lock is held for a push or a pop only).</summary>
    private sealed class Bucket(int length)
    {
        private readonly Lock _lock = new();
        private byte[]?[] _items = new byte[]?[8];
        private int _count;

        public int Length { get; } = length;

        public byte[]? TryPop()
        {
            lock (_lock)
            {
                if (_count == 0)
                {
                    return null;
                }

                var array = _items[--_count];
                _items[_count] = null;
                return array;
            }
        }

        public void Push(byte[] array)
        {
            lock (_lock)
            {
                if (_count == _items.Length)
                {
                    Array.Resize(ref _items, _items.Length * 2);
                }

                _items[_count++] = array;
            }
        }
    }
}
