using Runtime.Primitives.Buffers;

namespace Runtime.ControlPlane.Kubernetes.Api;

/// <summary>
/// Splits a streaming body into newline-terminated lines as bytes arrive (a watch is one JSON
/// event per line and never ends on its own), without buffering more than the current line.
/// A returned line is valid until the next read.
/// </summary>
internal sealed class LineReader(Stream stream, int maxLineBytes) : IDisposable
{
    private byte[] _buffer = PooledBuffers.Rent(16 * 1024);
    private int _start;
    private int _end;
    private int _scanned;

    /// <summary>The next line without its terminator; null at the end of the stream.</summary>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start + _scanned, _end - _start - _scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = _buffer.AsMemory(_start, _scanned + newline);
                _start += _scanned + newline + 1;
                _scanned = 0;
                return line;
            }

            _scanned = _end - _start;
            MakeRoom();
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (_end == _start)
                {
                    return null;
                }

                // A last line without its newline.
                var rest = _buffer.AsMemory(_start, _end - _start);
                _start = _end;
                _scanned = 0;
                return rest;
            }

            _end += read;
        }
    }

    public void Dispose()
    {
        PooledBuffers.Return(_buffer);
        _buffer = [];
    }

    private void MakeRoom()
    {
        var pending = _end - _start;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _start = 0;
            _end = pending;
        }

        if (_end < _buffer.Length)
        {
            return;
        }

        if (_buffer.Length >= maxLineBytes)
        {
            throw new InvalidDataException($"a watch line exceeds {maxLineBytes} bytes");
        }

        var bigger = PooledBuffers.Rent(Math.Min(maxLineBytes, _buffer.Length * 2));
        _buffer.AsSpan(0, pending).CopyTo(bigger);
        PooledBuffers.Return(_buffer);
        _buffer = bigger;
    }
}
