namespace Runtime.Configuration.Loading;

/// <summary>
/// The configuration used when neither <c>--config-file</c> nor <c>--config-text</c> is given. It is
/// the Go project's default (three weighted scorers in one profile); loading adds the rest of the
/// default set: max-score-picker, single-profile-handler, utilization-detector and openai-parser.
/// </summary>
internal static class DefaultEndpointPickerConfig
{
    public const string Source = "<default config>";

    public const string Yaml = """
        apiVersion: inference.networking.x-k8s.io/v1alpha1
        kind: EndpointPickerConfig
        plugins:
        - type: queue-scorer
        - type: kv-cache-utilization-scorer
        - type: prefix-cache-scorer
        schedulingProfiles:
        - name: default
          plugins:
          - pluginRef: queue-scorer
            weight: 2
          - pluginRef: kv-cache-utilization-scorer
            weight: 2
          - pluginRef: prefix-cache-scorer
            weight: 3
        """;
}
