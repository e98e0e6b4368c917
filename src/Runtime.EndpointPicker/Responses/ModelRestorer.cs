using System.Buffers;
using Runtime.BodyParsing;

namespace Runtime.EndpointPicker.Responses;

/// <summary>
/// Puts the client's model name back into a response after the request's model was rewritten
/// (SPEC §2): in a JSON body, or in every <c>data:</c> event of a token stream. Events are rewritten
/// and passed on as soon as they are complete, so streaming is never held back by more than the
/// bytes of one unfinished event. Only the <c>model</c> value changes; the rest is copied unchanged.
/// </summary>
internal sealed class ModelRestorer : IDisposable
{
    private const int MaxPendingBytes = 1024 * 1024;
    private static readonly JsonFieldSet s_model = new("model");

    private readonly JsonBodyScanner _scanner = new(s_model, validateUtf8: false);
    private readonly JsonBodyRewriter _rewriter = new();
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private byte[] _pending = new byte[4096];
    private int _pendingLength;
    private byte[] _clientModel = [];
    private int _clientModelLength;
    private byte[] _servedModel = [];
    private int _servedModelLength;

    public bool IsActive { get; private set; }

    /// <summary>Starts restoring <paramref name="servedModel"/> → <paramref name="clientModel"/> for this response.</summary>
    public void Begin(string clientModel, string servedModel)
    {
        IsActive = true;
        _clientModelLength = Store(ref _clientModel, clientModel);
        _servedModelLength = Store(ref _servedModel, servedModel);
    }

    public void Reset()
    {
        IsActive = false;
        _pendingLength = 0;
        _output.Clear();
        _rewriter.Reset();
        if (_pending.Length > 64 * 1024)
        {
            _pending = new byte[4096];
        }
    }

    public void Dispose() => _rewriter.Dispose();

    /// <summary>Rewrites the complete events in <paramref name="chunk"/> (and, at the end, whatever is left); the result is valid until the next call.</summary>
    public ReadOnlySequence<byte> RestoreEvents(in ReadOnlySequence<byte> chunk, bool endOfStream)
    {
        _output.Clear();
        foreach (var memory in chunk)
        {
            Append(memory.Span);
        }

        var consumed = 0;
        while (true)
        {
            var end = _pending.AsSpan(consumed, _pendingLength - consumed).IndexOf("\n\n"u8);
            if (end < 0)
            {
                break;
            }

            RestoreEvent(consumed, end + 2);
            consumed += end + 2;
        }

        if (endOfStream || _pendingLength - consumed > MaxPendingBytes)
        {
            // An unterminated tail (or an absurdly long event) goes out as it is.
            RestoreEvent(consumed, _pendingLength - consumed);
            consumed = _pendingLength;
        }

        _pending.AsSpan(consumed, _pendingLength - consumed).CopyTo(_pending);
        _pendingLength -= consumed;
        return new ReadOnlySequence<byte>(_output.WrittenMemory);
    }

    /// <summary>Rewrites a whole JSON body; returns the body unchanged if it has no matching model.</summary>
    public ReadOnlySequence<byte> RestoreJson(in ReadOnlySequence<byte> body)
    {
        _output.Clear();
        if (!TryRewrite(body))
        {
            return body;
        }

        _rewriter.WriteTo(_output);
        return new ReadOnlySequence<byte>(_output.WrittenMemory);
    }

    private void RestoreEvent(int start, int length)
    {
        var evt = _pending.AsSpan(start, length);
        var data = evt.IndexOf("data:"u8);
        if (data >= 0)
        {
            var lineEnd = evt[data..].IndexOf((byte)'\n');
            var payload = evt[(data + 5)..(lineEnd < 0 ? evt.Length : data + lineEnd)];
            var skip = payload.Length - payload.TrimStart(" \t"u8).Length;
            var json = payload[skip..].TrimEnd(" \r\t"u8);
            var jsonStart = data + 5 + skip;
            if (json.Length > 0 && json[0] == (byte)'{' && TryRewrite(new ReadOnlySequence<byte>(_pending, start + jsonStart, json.Length)))
            {
                _output.Write(evt[..jsonStart]);
                _rewriter.WriteTo(_output);
                _output.Write(evt[(jsonStart + json.Length)..]);
                return;
            }
        }

        _output.Write(evt);
    }

    private bool TryRewrite(in ReadOnlySequence<byte> json)
    {
        _rewriter.Reset();
        if (_scanner.Scan(json) != JsonBodyStatus.Ok || !_scanner.ValueEquals(0, _servedModel.AsSpan(0, _servedModelLength)))
        {
            return false;
        }

        _rewriter.Begin(_scanner);
        return _rewriter.ReplaceWithString(0, _clientModel.AsSpan(0, _clientModelLength));
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_pending.Length < _pendingLength + bytes.Length)
        {
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + bytes.Length));
        }

        bytes.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += bytes.Length;
    }

    private static int Store(ref byte[] into, string value)
    {
        var length = System.Text.Encoding.UTF8.GetByteCount(value);
        if (into.Length < length)
        {
            into = new byte[Math.Max(64, length)];
        }

        return System.Text.Encoding.UTF8.GetBytes(value, into);
    }
}
