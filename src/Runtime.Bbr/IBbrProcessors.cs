using Runtime.Plugins;

namespace Runtime.Bbr;

/// <summary>
/// A body-based routing step on the request path. Runs once per request, after the whole body
/// has arrived, in configured order; reads the body fields it declared and the request
/// headers, and records header and body changes on the shared <see cref="BbrRequest"/>.
/// </summary>
public interface IBbrRequestProcessor : IPlugin
{
    /// <summary>Top-level body fields this processor reads or changes (scanned once for the whole chain).</summary>
    IReadOnlyList<string> BodyFields { get; }

    /// <summary>Returns false to reject the request; <see cref="BbrRequest.Reject"/> says why.</summary>
    bool ProcessRequest(BbrRequest request);
}

/// <summary>
/// A request processor that chooses the model (e.g. semantic routing): it may replace the
/// body's <c>model</c> with <see cref="BbrRequest.SetBodyString"/>; later processors see the
/// new model through <see cref="BbrRequest.Model"/>.
/// </summary>
public interface IModelSelector : IBbrRequestProcessor
{
}

/// <summary>A step on the response path; sees the final JSON body or the last SSE event.</summary>
public interface IBbrResponseProcessor : IPlugin
{
    void ProcessResponse(BbrResponse response);
}
