using System.Buffers;

namespace Runtime.BodyParsing;

/// <summary>
/// Keeps only the last complete-or-current SSE event of a streamed response (bounded), so
/// response processors can read usage from the final <c>data:</c> event without the response
/// ever being buffered: the chunks themselves are echoed as they arrive.
/// </summary>
internal sealed class SseTail
{
    private const int MaxEventBytes = 1024 * 1024;

    private byte[] _current = new byte[4096];
    private int _currentLength;
    private byte[] _last = new byte[4096];
    private int _lastLength;
    private bool _overflow;
    private int _lineLength;
    private byte _lineFirst;

    public void Append(in ReadOnlySequence<byte> chunk)
    {
        foreach (var memory in chunk)
        {
            var span = memory.Span;
            while (!span.IsEmpty)
            {
                // Events end with a blank line ("\n\n" or "\r\n\r\n"), wherever the chunks split
                // it: the line state carries over from one chunk to the next.
                var newline = span.IndexOf((byte)'\n');
                var line = newline < 0 ? span : span[..newline];
                if (!line.IsEmpty)
                {
                    if (_lineLength == 0)
                    {
                        _lineFirst = line[0];
                    }

                    _lineLength += line.Length;
                    Add(line);
                }

                if (newline < 0)
                {
                    break;
                }

                var blank = _lineLength == 0 || (_lineLength == 1 && _lineFirst == (byte)'\r');
                _lineLength = 0;
                if (blank)
                {
                    CompleteEvent();
                }
                else
                {
                    Add("\n"u8);
                }

                span = span[(newline + 1)..];
            }
        }
    }

    /// <summary>The JSON payload of the last <c>data:</c> event that was not <c>[DONE]</c>.</summary>
    public ReadOnlySequence<byte> LastEventJson()
    {
        CompleteEvent();
        return new ReadOnlySequence<byte>(_last, 0, _lastLength);
    }

    public void Reset()
    {
        _currentLength = 0;
        _lastLength = 0;
        _overflow = false;
        _lineLength = 0;
    }

    private void Add(ReadOnlySpan<byte> bytes)
    {
        if (_overflow || _currentLength + bytes.Length > MaxEventBytes)
        {
            _overflow = true;
            return;
        }

        if (_current.Length < _currentLength + bytes.Length)
        {
            Array.Resize(ref _current, Math.Max(_current.Length * 2, _currentLength + bytes.Length));
        }

        bytes.CopyTo(_current.AsSpan(_currentLength));
        _currentLength += bytes.Length;
    }

    private void CompleteEvent()
    {
        var evt = _current.AsSpan(0, _currentLength);
        _currentLength = 0;
        if (_overflow)
        {
            _overflow = false;
            return;
        }

        var data = evt.IndexOf("data:"u8);
        if (data < 0)
        {
            return;
        }

        var payload = evt[(data + 5)..].Trim(" \r\n\t"u8);
        if (payload.IsEmpty || payload.SequenceEqual("[DONE]"u8))
        {
            return;
        }

        if (_last.Length < payload.Length)
        {
            _last = new byte[payload.Length];
        }

        payload.CopyTo(_last);
        _lastLength = payload.Length;
    }
}
