using Runtime.BodyParsing;
using Runtime.ExtProc.Codec;
using Runtime.Primitives.Buffers;

namespace Runtime.Bbr;

/// <summary>
/// The state one request's processors share: the scanned body, the request headers, the
/// model as currently chosen, and the header/body changes to send back. Pooled per stream;
/// nothing here allocates per request once warm, except strings a processor asks for.
/// </summary>
public sealed class BbrRequest
{
    private readonly List<(string Name, byte[] Value, int Length)> _setHeaders = [];
    private readonly List<string> _removeHeaders = [];
    private byte[] _model = new byte[256];

    internal BbrRequest(BbrChain chain)
    {
        Chain = chain;
        Scanner = new JsonBodyScanner(chain.Fields);
        Rewriter = new JsonBodyRewriter();
    }

    internal BbrChain Chain { get; }

    internal JsonBodyScanner Scanner { get; }

    internal JsonBodyRewriter Rewriter { get; }

    /// <summary>The request headers Envoy sent (lower-case names).</summary>
    public HeaderList Headers { get; private set; } = null!;

    /// <summary>The model as UTF-8 (empty when the body has none); changes when a model selector picks another.</summary>
    public ReadOnlySpan<byte> Model => _model.AsSpan(0, ModelLength);

    public int ModelLength { get; private set; }

    public bool HasModel => ModelLength > 0;

    /// <summary>Set by a processor that rejects the request: the HTTP status and the reason.</summary>
    public int RejectStatus { get; private set; }

    public string? RejectReason { get; private set; }

    internal int SetHeaderCount => _setHeaders.Count;

    internal IReadOnlyList<string> RemovedHeaders => _removeHeaders;

    /// <summary>Index of a declared body field in the scan (see <see cref="IBbrRequestProcessor.BodyFields"/>).</summary>
    public int FieldIndex(string name) => Chain.Fields.IndexOf(name);

    public ref readonly JsonField Field(int index) => ref Scanner[index];

    /// <summary>Copies a string field's unescaped value; false when absent or not a string.</summary>
    public bool TryGetString(int field, Span<byte> destination, out int written) =>
        Scanner.TryCopyString(field, destination, out written);

    public int GetMaxStringLength(int field) => Scanner.GetMaxStringLength(field);

    public bool TryGetBoolean(int field, out bool value) => Scanner.TryGetBoolean(field, out value);

    public void SetHeader(string name, ReadOnlySpan<byte> value)
    {
        for (var i = 0; i < _setHeaders.Count; i++)
        {
            if (string.Equals(_setHeaders[i].Name, name, StringComparison.OrdinalIgnoreCase))
            {
                _setHeaders[i] = (name, Store(_setHeaders[i].Value, value), value.Length);
                return;
            }
        }

        _setHeaders.Add((name, Store(PooledBuffers.Rent(Math.Max(64, value.Length)), value), value.Length));
    }

    public void RemoveHeader(string name) => _removeHeaders.Add(name);

    /// <summary>Replaces (or adds) a top-level string field; only that value's bytes change in the body.</summary>
    public void SetBodyString(int field, ReadOnlySpan<byte> utf8)
    {
        if (Scanner[field].IsPresent)
        {
            Rewriter.ReplaceWithString(field, utf8);
        }
        else
        {
            Rewriter.AddString(Chain.Fields.GetUtf8Name(field), utf8);
        }

        if (field == Chain.ModelField)
        {
            SetModel(utf8);
        }
    }

    public void RemoveBodyField(int field)
    {
        if (Scanner[field].IsPresent)
        {
            Rewriter.Remove(field);
        }
    }

    /// <summary>Rejects the request; the client gets <paramref name="status"/> with <c>inference error: …</c>.</summary>
    public bool Reject(int status, string reason)
    {
        RejectStatus = status;
        RejectReason = reason;
        return false;
    }

    internal (string Name, ReadOnlyMemory<byte> Value) GetSetHeader(int index)
    {
        var (name, value, length) = _setHeaders[index];
        return (name, value.AsMemory(0, length));
    }

    internal void Begin(HeaderList headers)
    {
        Headers = headers;
        Rewriter.Begin(Scanner);
        ModelLength = 0;
        var model = Chain.ModelField;
        if (model >= 0 && Scanner[model].TokenType == System.Text.Json.JsonTokenType.String)
        {
            var max = Scanner.GetMaxStringLength(model);
            if (_model.Length < max)
            {
                _model = new byte[Math.Max(max, _model.Length * 2)];
            }

            Scanner.TryCopyString(model, _model, out var written);
            ModelLength = written;
        }
    }

    internal void Reset()
    {
        foreach (var (_, value, _) in _setHeaders)
        {
            PooledBuffers.Return(value);
        }

        _setHeaders.Clear();
        _removeHeaders.Clear();
        Rewriter.Reset();
        Scanner.Clear();
        RejectStatus = 0;
        RejectReason = null;
        ModelLength = 0;
        Headers = null!;
    }

    private void SetModel(ReadOnlySpan<byte> utf8)
    {
        if (_model.Length < utf8.Length)
        {
            _model = new byte[utf8.Length * 2];
        }

        utf8.CopyTo(_model);
        ModelLength = utf8.Length;
    }

    private static byte[] Store(byte[] buffer, ReadOnlySpan<byte> value)
    {
        if (buffer.Length < value.Length)
        {
            PooledBuffers.Return(buffer);
            buffer = PooledBuffers.Rent(value.Length);
        }

        value.CopyTo(buffer);
        return buffer;
    }
}
