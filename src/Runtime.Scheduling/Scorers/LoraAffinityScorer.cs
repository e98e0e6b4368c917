using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Scorers;

/// <summary>
/// <c>lora-affinity-scorer</c>, as GIE scores the request's target model against each server's LoRA
/// state: 1.0 the adapter is running there; 0.8 the server has a free adapter slot (running + waiting
/// adapters &lt; max_lora); 0.6 the adapter is waiting there; else 0.
/// </summary>
/// <remarks>
/// Like GIE there is no special case for a base-model request: its name is not among the adapters, so
/// it scores 0.8 on servers with a free slot and 0 elsewhere (servers reporting no LoRA info: 0 for all,
/// which leaves the other scorers to decide). A request without a model scores 0 everywhere.
/// </remarks>
internal sealed class LoraAffinityScorer(string name) : IScorer, IMetricsConsumer
{
    public string TypeName => BuiltInPlugins.LoraAffinityScorer;

    public string Name { get; } = name;

    public MetricKinds RequiredMetrics => MetricKinds.LoraAdapters;

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        var model = request.TargetModel;
        if (model.Length == 0)
        {
            scores.Clear();
            return;
        }

        for (var i = 0; i < candidates.Length; i++)
        {
            var metrics = candidates[i].Metrics;
            scores[i] = metrics.HasActiveLoraAdapter(model) ? 1.0
                : metrics.ActiveLoraAdapters.Count + metrics.WaitingLoraAdapters.Count < metrics.MaxLoraAdapters ? 0.8
                : metrics.HasWaitingLoraAdapter(model) ? 0.6
                : 0.0;
        }
    }
}
