namespace Runtime.EndpointPicker.Requests;

/// <summary>Header and metadata names of the Endpoint Picker Protocol (SPEC §2); llm-d's spellings are accepted too.</summary>
internal static class EndpointPickerHeaders
{
    public static ReadOnlySpan<byte> Path => ":path"u8;

    public static ReadOnlySpan<byte> RequestId => "x-request-id"u8;

    public static ReadOnlySpan<byte> FairnessId => "x-gateway-inference-fairness-id"u8;

    public static ReadOnlySpan<byte> FairnessIdLlmD => "x-llm-d-inference-fairness-id"u8;

    public static ReadOnlySpan<byte> Objective => "x-gateway-inference-objective"u8;

    public static ReadOnlySpan<byte> ObjectiveLlmD => "x-llm-d-inference-objective"u8;

    public static ReadOnlySpan<byte> ModelRewrite => "x-gateway-model-name-rewrite"u8;

    public static ReadOnlySpan<byte> ModelRewriteLlmD => "x-llm-d-model-name-rewrite"u8;

    public static ReadOnlySpan<byte> DestinationEndpoint => "x-gateway-destination-endpoint"u8;

    public static ReadOnlySpan<byte> ContentLength => "content-length"u8;

    public static ReadOnlySpan<byte> ContentType => "content-type"u8;

    public static ReadOnlySpan<byte> LbNamespace => "envoy.lb"u8;

    public static ReadOnlySpan<byte> SubsetHintNamespace => "envoy.lb.subset_hint"u8;

    public static ReadOnlySpan<byte> SubsetHintKey => "x-gateway-destination-endpoint-subset"u8;

    public static ReadOnlySpan<byte> ServedEndpointKey => "x-gateway-destination-endpoint-served"u8;

    /// <summary>llm-d's per-endpoint scores key in <see cref="LbNamespace"/> (<c>--emit-endpoint-scores</c>).</summary>
    public static ReadOnlySpan<byte> DestinationEndpointScores => "x-gateway-destination-endpoint-scores"u8;

    public static ReadOnlySpan<byte> SloTtftMs => "x-slo-ttft-ms"u8;

    public static ReadOnlySpan<byte> ServedVerifierHeader => "x-conformance-test-served-endpoint"u8;

    public const string DefaultFairnessId = "default-flow";
}
