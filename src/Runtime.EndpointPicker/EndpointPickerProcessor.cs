using Runtime.EndpointPicker.Requests;
using Runtime.ExtProc.Processing;

namespace Runtime.EndpointPicker;

/// <summary>
/// The Endpoint Picker Protocol over ext_proc (SPEC §2). For each request:
/// <list type="number">
/// <item>parse the body (model, prompt, stream, cache_salt; API by path) — the pick needs the model,
/// so in FULL_DUPLEX_STREAMED the headers reply waits for the body's end;</item>
/// <item>objective header → priority; model rewrite (header override, then rules);</item>
/// <item>admission: flow control, or the legacy shed rule;</item>
/// <item>schedule over the current snapshot, narrowed to the gateway's subset hint;</item>
/// <item>reply: <c>x-gateway-destination-endpoint</c> and the same value in <c>envoy.lb</c>
/// metadata, <c>clear_route_cache</c>, then the body — the original bytes, or with only the model
/// value rewritten — in ≤ 62,000 B pieces.</item>
/// </list>
/// The response is echoed as it arrives (token streams are never held); a rewritten model name is
/// put back for the client, usage is read for metrics, and the endpoint's in-flight count is
/// released when the stream ends, however it ends.
/// </summary>
internal sealed class EndpointPickerProcessor : PooledProcessor<EndpointPickerHandler>
{
    private volatile EndpointPickerContext _context;

    public EndpointPickerProcessor(EndpointPickerContext context)
    {
        _context = context;
    }

    public override string Name => "endpoint-picker";

    /// <summary>
    /// What new requests are served with. A config reload replaces it in one write; each request
    /// reads it once, when its headers arrive, and keeps it to the end.
    /// </summary>
    internal EndpointPickerContext Context
    {
        get => _context;
        set => _context = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Model names and fairness ids seen before, so a repeated one costs no string.</summary>
    internal Utf8StringCache Models { get; } = new(4096);

    internal Utf8StringCache FairnessIds { get; } = new(16384);

    protected override EndpointPickerHandler CreateHandler() => new(this);
}
