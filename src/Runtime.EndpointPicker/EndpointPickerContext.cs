using Microsoft.Extensions.Logging;
using Runtime.EndpointPicker.Admission;
using Runtime.EndpointPicker.Plugins;
using Runtime.EndpointPicker.Requests;
using Runtime.Endpoints;
using Runtime.ExtProc.Codec;
using Runtime.Scheduling;
using Runtime.Scheduling.LlmD;

namespace Runtime.EndpointPicker;

/// <summary>What the endpoint picker works with; everything here is shared by all streams and thread-safe.</summary>
internal sealed record EndpointPickerContext(
    EndpointStore Endpoints,
    IScheduler Scheduler,
    RequestAdmission Admission,
    ObjectivePriorities Objectives,
    ModelRewriteRules Rewrites,
    EndpointPickerMetrics Metrics,
    ILogger Logger)
{
    /// <summary>
    /// Endpoints whose last scrape is older than this are left out while any endpoint is fresh: a
    /// dead server's last metrics would otherwise look good forever. When all are stale (startup,
    /// or the scraper cannot reach anyone) all stay candidates.
    /// </summary>
    public TimeSpan StalenessThreshold { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Ignore the gateway's subset hint (<c>--disable-endpoint-subset-filter</c>).</summary>
    public bool DisableSubsetFilter { get; init; }

    /// <summary>
    /// llm-d's <c>--emit-endpoint-scores</c>: the deciding profile's weighted score of every scored
    /// candidate, as a Struct <c>{"host:port": score}</c> under <c>envoy.lb</c>
    /// <c>x-gateway-destination-endpoint-scores</c>.
    /// </summary>
    public bool EmitEndpointScores { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>How request bodies are read: the configured parser(s), chosen per request by path.</summary>
    public RequestParserSet Parsers { get; init; } = RequestParserSet.Single(RequestParsing.OpenAI);

    /// <summary><c>program-aware-fairness</c> policies in use: told each completed request's token usage per fairness id.</summary>
    public IReadOnlyList<FlowControl.Policies.ProgramAwareFairnessPolicy> ProgramFairness { get; init; } = [];

    /// <summary>An <c>agent-identity</c> plugin: the fairness id of a request without the fairness header comes from its session headers.</summary>
    public AgentIdentity? AgentIdentity { get; init; }

    /// <summary>A <c>destination-endpoint-served-verifier</c> is configured: echo the served endpoint in a response header.</summary>
    public bool VerifyServedEndpoint { get; init; }

    /// <summary>Configured <c>request-attribute-reporter</c> plugins, run when the response ends.</summary>
    public IReadOnlyList<RequestAttributeReporter> Reporters { get; init; } = [];

    /// <summary>Plugins that set a response header from the endpoint that served (llm-d's session affinity token).</summary>
    public IResponseHeaderWriter[] ResponseHeaderWriters { get; init; } = [];
}
