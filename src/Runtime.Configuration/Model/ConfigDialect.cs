namespace Runtime.Configuration.Model;

/// <summary>Which project's semantics a configuration file gets (see <see cref="EndpointPickerConfig.Dialect"/>).</summary>
public enum ConfigDialect
{
    /// <summary>Gateway API Inference Extension v1.5.0 (<c>inference.networking.x-k8s.io</c>).</summary>
    Gie,

    /// <summary>llm-d router v0.10 (<c>llm-d.ai</c>).</summary>
    LlmD,
}
