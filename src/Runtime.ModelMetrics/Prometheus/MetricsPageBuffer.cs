using System.Buffers;
using Runtime.Primitives.Buffers;

namespace Runtime.ModelMetrics.Prometheus;

/// <summary>
/// Holds one whole metrics page in a pooled array, so <see cref="PrometheusTextReader"/> can read it as
/// one span. One buffer per endpoint is reused scrape after scrape; it grows by doubling up to
/// <see cref="MaxBytes"/>, and a page larger than that is refused rather than buffered.
/// </summary>
internal sealed class MetricsPageBuffer : IDisposable
{
    public const int DefaultMaxBytes = 4 * 1024 * 1024;

    /// <summary>Typical pages are 10–60 KB (vLLM with histograms); start there to avoid regrowth.</summary>
    public const int DefaultInitialBytes = 32 * 1024;

    // A buffer grown for one unusually large page goes back to the pool instead of pinning it per endpoint.
    private const int RetainBytes = 256 * 1024;

    // Page arrays come from their own pool with a ceiling: the shared ArrayPool keeps an array per size
    // per thread, and an endpoint serving oversized pages on every tick walks the whole size ladder
    // (32 KB to MaxBytes) from whichever thread its scrape finishes on, so it would pin tens of MB.
    private static readonly BoundedBytePool s_pages = new(2 * DefaultMaxBytes, retainCeiling: 4 * DefaultMaxBytes);

    private byte[] _buffer = [];
    private int _length;

    public MetricsPageBuffer(int maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        MaxBytes = maxBytes;
    }

    public int MaxBytes { get; }

    public int Length => _length;

    /// <summary>The page read so far.</summary>
    public ReadOnlySpan<byte> Page => _buffer.AsSpan(0, _length);

    /// <summary>Empties the buffer (keeping its array unless it grew unusually large).</summary>
    public void Clear()
    {
        _length = 0;
        if (_buffer.Length > RetainBytes)
        {
            ReturnArray();
        }
    }

    /// <summary>Appends bytes; false (and nothing appended) if the page would exceed <see cref="MaxBytes"/>.</summary>
    public bool TryAppend(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxBytes - _length || !TryEnsureFree(bytes.Length))
        {
            return false;
        }

        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
        return true;
    }

    /// <summary>Appends every segment of <paramref name="bytes"/>; false if the page would exceed <see cref="MaxBytes"/>.</summary>
    public bool TryAppend(in ReadOnlySequence<byte> bytes)
    {
        if (bytes.Length > MaxBytes - _length)
        {
            return false;
        }

        if (bytes.IsSingleSegment)
        {
            return TryAppend(bytes.FirstSpan);
        }

        foreach (var segment in bytes)
        {
            TryAppend(segment.Span);
        }

        return true;
    }

    /// <summary>
    /// Reads <paramref name="stream"/> to its end, replacing the content. False if the page is larger
    /// than <see cref="MaxBytes"/> (reading stops there). <paramref name="lengthHint"/> is the
    /// Content-Length when the server sent one.
    /// </summary>
    public async ValueTask<bool> TryReadFromAsync(Stream stream, long? lengthHint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _length = 0;
        if (lengthHint > MaxBytes)
        {
            return false;
        }

        // One byte more than the hint lets the final zero-byte read complete without a regrow.
        if (!TryEnsureFree(lengthHint is { } hint ? (int)hint + 1 : Math.Min(DefaultInitialBytes, MaxBytes + 1)))
        {
            return false;
        }

        while (true)
        {
            if (_length == _buffer.Length && !TryEnsureFree(1))
            {
                return false;
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return true;
            }

            _length += read;
            if (_length > MaxBytes)
            {
                return false;
            }
        }
    }

    public void Dispose()
    {
        _length = 0;
        ReturnArray();
    }

    private bool TryEnsureFree(int count)
    {
        // Capacity may reach MaxBytes + 1: the extra byte is where an oversized page shows itself.
        var needed = (long)_length + count;
        if (needed > MaxBytes + 1L)
        {
            return false;
        }

        if (needed <= _buffer.Length)
        {
            return true;
        }

        var size = Math.Max(_buffer.Length * 2L, Math.Max(needed, DefaultInitialBytes));
        var next = PooledBuffers.Rent(s_pages, (int)Math.Min(size, MaxBytes + 1L));
        _buffer.AsSpan(0, _length).CopyTo(next);
        ReturnArray();
        _buffer = next;
        return true;
    }

    private void ReturnArray()
    {
        if (_buffer.Length > 0)
        {
            PooledBuffers.Return(s_pages, _buffer);
            _buffer = [];
        }
    }
}
