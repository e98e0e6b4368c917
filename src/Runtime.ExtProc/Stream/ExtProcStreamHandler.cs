namespace Runtime.ExtProc.Stream;

/// <summary>
/// The per-stream logic plugged into <see cref="ExtProcStream"/>. Each phase receives the
/// stream, whose <see cref="ExtProcStream.Message"/> is the message that just arrived. The
/// defaults reply "continue" (and echo streamed bodies), so a processor overrides only the
/// phases it cares about. Calls for one stream never overlap.
/// </summary>
internal abstract class ExtProcStreamHandler
{
    public virtual ValueTask OnRequestHeadersAsync(ExtProcStream stream) => stream.ContinueAsync();

    public virtual ValueTask OnRequestBodyAsync(ExtProcStream stream) => stream.ContinueAsync();

    public virtual ValueTask OnRequestTrailersAsync(ExtProcStream stream) => stream.ContinueAsync();

    public virtual ValueTask OnResponseHeadersAsync(ExtProcStream stream) => stream.ContinueAsync();

    public virtual ValueTask OnResponseBodyAsync(ExtProcStream stream) => stream.ContinueAsync();

    public virtual ValueTask OnResponseTrailersAsync(ExtProcStream stream) => stream.ContinueAsync();

    /// <summary>
    /// Runs exactly once when the stream ends, cleanly or not (<paramref name="aborted"/>:
    /// client reset, deadline, error). Release per-request resources here; must not throw.
    /// </summary>
    public virtual void OnStreamEnd(ExtProcStream stream, bool aborted)
    {
    }
}

/// <summary>Creates the handler of each stream (and takes it back, so handlers can be pooled).</summary>
internal interface IExtProcProcessor
{
    string Name { get; }

    ExtProcStreamHandler RentHandler();

    void ReturnHandler(ExtProcStreamHandler handler);
}
