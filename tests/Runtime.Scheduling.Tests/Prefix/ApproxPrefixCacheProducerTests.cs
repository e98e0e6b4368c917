using Runtime.Configuration.Model;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Prefix;
using Runtime.Scheduling.Scorers;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Prefix;

public class ApproxPrefixCacheProducerTests
{
    [Fact]
    public void Create_DeclaredProducer_ScorersShareItAndItRecordsPicks()
    {
        var producer = new ApproxPrefixCacheProducer("approx-prefix-cache-producer", new PrefixCacheScorerParameters());
        var first = new PrefixCacheScorer("p1", new PrefixCacheScorerParameters());
        var second = new PrefixCacheScorer("p2", new PrefixCacheScorerParameters());
        var config = new EndpointPickerConfig(SchedulingProfiles:
        [
            new SchedulingProfileConfig("default", [new SchedulingPluginRef { PluginRef = "p1" }, new SchedulingPluginRef { PluginRef = "p2" }]),
        ]);
        var plugins = new Dictionary<string, IPlugin> { ["approx-prefix-cache-producer"] = producer, ["p1"] = first, ["p2"] = second, ["m"] = new MaxScorePicker("m") };

        var built = Scheduler.Create(config, plugins);

        Assert.True(built.IsValid, string.Join("\n", built.Errors));
        Assert.Same(producer, first.Producer);
        Assert.Same(producer, second.Producer);

        var endpoints = TestEndpoints.States(2);
        var request = TestEndpoints.Request(TestEndpoints.LongPrompt(7));
        var result = new SchedulingResult();
        built.Scheduler!.Schedule(request, endpoints, result);
        Assert.True(producer.Index.CountFor(result.Primary) > 0);
    }

    [Fact]
    public void Create_NamedProducerMissing_Error()
    {
        var scorer = new PrefixCacheScorer("p", new PrefixCacheScorerParameters { PrefixMatchInfoProducerName = "nope" });
        var config = new EndpointPickerConfig(SchedulingProfiles: [new SchedulingProfileConfig("default", [new SchedulingPluginRef { PluginRef = "p" }])]);

        var built = Scheduler.Create(config, new Dictionary<string, IPlugin> { ["p"] = scorer });

        Assert.Contains(built.Errors, e => e.Contains("\"nope\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Score_MatchLengthWeight_BlendsLengthAndRatio()
    {
        var context = new SchedulingContext();
        var parameters = new PrefixCacheScorerParameters { MatchLengthWeight = 0.5, MatchLengthScaleTokens = 16 };
        var scorer = new PrefixCacheScorer("p", parameters);
        var endpoints = TestEndpoints.States(2);
        var request = TestEndpoints.Request(TestEndpoints.LongPrompt(3));

        context.BeginRequest();
        var scores = new double[2];
        scorer.Score(context, request, endpoints, scores);
        var result = new SchedulingResult();
        result.Add(endpoints[0]);
        scorer.PreRequest(context, request, result);

        context.BeginRequest();
        scorer.Score(context, request, endpoints, scores);

        // Full match: ratio 1 and length min(1, blocks × 16 / 16)² = 1, so 0.5 × 1 + 0.5 × 1.
        Assert.Equal([1.0, 0.0], scores);
    }
}
