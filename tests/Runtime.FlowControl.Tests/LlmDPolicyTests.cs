using System.Text.Json;
using Runtime.Configuration.Model;
using Runtime.FlowControl.Plugins;
using Runtime.FlowControl.Policies;
using Runtime.FlowControl.Tests.Support;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Saturation;
using Runtime.Plugins.Validation;

namespace Runtime.FlowControl.Tests;

public sealed class SoftReflectiveCeilingPolicyTests
{
    [Fact]
    public void HighestBandNeverGated_LowerBandsGatedFirst()
    {
        var policy = new SoftReflectiveCeilingPolicy();

        // Three bands at saturation 0.3: ceilings 1, 0.85, 0.7 — all open.
        Assert.Equal(1.0, policy.GetLimit(1, 3, 0.3));
        Assert.Equal(1.0, policy.GetLimit(2, 3, 0.3));
        // At 0.99 (>= 1 - 0.99): the lowest band is in the duty-cycle regime; the top never is.
        Assert.Equal(1.0, policy.GetLimit(0, 3, 0.99));
        // Saturated: every band but the top is closed.
        Assert.Equal(0.0, policy.GetLimit(1, 3, 1.0));
        Assert.Equal(0.0, policy.GetLimit(2, 3, 1.5));
        Assert.Equal(1.0, policy.GetLimit(0, 3, 1.5));
    }

    [Fact]
    public void InTheGatedRegime_OpenOnOneCheckInRoundSOver1MinusS()
    {
        var policy = new SoftReflectiveCeilingPolicy();

        // Saturation 0.8: period round(0.8 / 0.2) = 4 -> the lowest of two bands is open on 1 check in 4.
        var open = Enumerable.Range(0, 400).Count(_ => policy.GetLimit(1, 2, 0.8) > 0.8);

        Assert.Equal(100, open);
    }

    [Fact]
    public async Task InTheController_LowPriorityWaitsWhileHighPriorityDispatches()
    {
        var detector = new FixedSaturation { Value = 0.8 };
        var controller = new FlowController(
            new FlowControlOptions { UsageLimitPolicy = new SoftReflectiveCeilingPolicy(), PriorityBands = [new PriorityBandOptions { Priority = 10 }, new PriorityBandOptions { Priority = 0 }] },
            new FlowControlDependencies { SaturationDetector = detector });

        var high = controller.EnqueueAndWaitAsync(new FlowControlRequest("a", 10, 1), CancellationToken.None).AsTask();
        Assert.Equal(FlowControlOutcome.Dispatched, (await high.WaitAsync(TimeSpan.FromSeconds(10))).Outcome);

        // Saturation 1: the low band is closed however often it is checked; at 0 it goes.
        detector.Value = 1.0;
        var low = controller.EnqueueAndWaitAsync(new FlowControlRequest("a", 0, 1), CancellationToken.None).AsTask();
        for (var i = 0; i < 20; i++)
        {
            controller.NotifyCapacityChanged();
        }

        await Task.Delay(100);
        Assert.False(low.IsCompleted);
        detector.Value = 0;
        controller.NotifyCapacityChanged();
        Assert.Equal(FlowControlOutcome.Dispatched, (await low.WaitAsync(TimeSpan.FromSeconds(10))).Outcome);
    }

    private sealed class FixedSaturation : ISaturationDetector
    {
        public volatile float ValueBits;

        public double Value { get => ValueBits; set => ValueBits = (float)value; }

        public double GetSaturation() => Value;
    }
}

public sealed class ProgramAwareFairnessPolicyTests
{
    private static (FlowController Controller, FakeSaturationDetector Gate, RecordingObserver Observer) Create(IFairnessPolicy fairness)
    {
        var gate = new FakeSaturationDetector();
        var controller = new FlowController(
            new FlowControlOptions { DefaultPriorityBand = new PriorityBandOptions { FairnessPolicy = fairness } },
            new FlowControlDependencies { SaturationDetector = gate });
        var observer = new RecordingObserver(controller.ShardCount);
        RecordingObserver.Attach(controller, observer);
        return (controller, gate, observer);
    }

    private static void Enqueue(FlowController controller, string program, long id) =>
        _ = controller.EnqueueAndWaitAsync(new FlowControlRequest(program, 0, id), CancellationToken.None).AsTask();

    [Fact]
    public void LeastAttainedService_TheProgramThatUsedFewerTokensGoesFirst()
    {
        var policy = new ProgramAwareFairnessPolicy(new ProgramAwareFairnessOptions());
        var (controller, gate, observer) = Create(policy);
        // Program "heavy" has consumed far more (input 1000, output 2000 -> 5000 weighted tokens).
        policy.RecordCompletion("heavy", 1000, 2000);
        policy.RecordCompletion("light", 10, 5);
        Enqueue(controller, "heavy", 1);
        Enqueue(controller, "heavy", 2);
        Enqueue(controller, "light", 3);
        Enqueue(controller, "light", 4);

        gate.Slots = 2;
        controller.NotifyCapacityChanged();

        // Global strict (FCFS) would serve 1 and 2; least attained service serves the light program's two.
        Assert.Equal([3L, 4], observer.DispatchedIds());
        Assert.Equal(5000, policy.AttainedService("heavy"), 0);
    }

    [Fact]
    public void SameRequests_WithTheDefaultFairness_ArrivalOrder()
    {
        var (controller, gate, observer) = Create(GlobalStrictFairnessPolicy.Instance);
        Enqueue(controller, "heavy", 1);
        Enqueue(controller, "heavy", 2);
        Enqueue(controller, "light", 3);

        gate.Slots = 2;
        controller.NotifyCapacityChanged();

        Assert.Equal([1L, 2], observer.DispatchedIds());
    }

    [Fact]
    public void IdleProgramsDecay_PerPickFactor()
    {
        var policy = new ProgramAwareFairnessPolicy(new ProgramAwareFairnessOptions { DecayFactor = 0.5 });
        var (controller, gate, _) = Create(policy);
        policy.RecordCompletion("idle", 100, 0);
        Enqueue(controller, "busy", 1);
        Enqueue(controller, "busy2", 2);

        gate.Slots = 1;
        controller.NotifyCapacityChanged();

        Assert.True(policy.AttainedService("idle") <= 50, $"{policy.AttainedService("idle")}");
    }
}

public sealed class LlmDFlowControlMappingTests
{
    [Fact]
    public void LlmDConfig_BoundedDefaults_60sTtlAnd5000PerBand()
    {
        var errors = new ValidationErrors();
        var options = FlowControlConfigMapper.Map(new FlowControlConfig(), new Dictionary<string, IPlugin>(), errors, ConfigDialect.LlmD);
        var none = FlowControlConfigMapper.Map(null, new Dictionary<string, IPlugin>(), errors, ConfigDialect.LlmD);

        Assert.Empty(errors.Errors);
        Assert.Equal(TimeSpan.FromSeconds(60), options.DefaultRequestTtl);
        Assert.Equal(5000, options.DefaultPriorityBand.MaxRequests);
        Assert.Equal(TimeSpan.FromSeconds(60), none.DefaultRequestTtl);
        Assert.Equal(5000, none.DefaultPriorityBand.MaxRequests);
    }

    [Fact]
    public void GieConfig_KeepsGiesUnboundedDefaults()
    {
        var errors = new ValidationErrors();
        var options = FlowControlConfigMapper.Map(new FlowControlConfig(), new Dictionary<string, IPlugin>(), errors);

        Assert.Equal(TimeSpan.Zero, options.DefaultRequestTtl);
        Assert.Equal(0, options.DefaultPriorityBand.MaxRequests);
    }

    [Fact]
    public void LlmDConfig_ExplicitZeroTtlDisables_ExplicitBandLimitKept()
    {
        var config = JsonSerializer.Deserialize("""{"flowControl":{"defaultRequestTTL":"0s","defaultPriorityBand":{"maxRequests":7}}}""", ConfigJsonContext.Default.EndpointPickerConfig)!.FlowControl;
        var options = FlowControlConfigMapper.Map(config, new Dictionary<string, IPlugin>(), new ValidationErrors(), ConfigDialect.LlmD);

        Assert.Equal(TimeSpan.Zero, options.DefaultRequestTtl);
        Assert.Equal(7, options.DefaultPriorityBand.MaxRequests);
    }

    [Theory]
    [InlineData("""{"lasDecayFactor":0}""", "lasDecayFactor must be in (0, 1], got 0")]
    [InlineData("""{"evictionSweepSeconds":0}""", "evictionSweepSeconds must be > 0, got 0")]
    [InlineData("""{"strategy":"wfq"}""", "unknown scoring strategy \"wfq\": only \"las\" is supported")]
    [InlineData("""{"lasWeightServic":1}""", "lasWeightServic")]
    public void ProgramAware_BadParameters_Refused(string json, string expected)
    {
        var built = BuiltInPlugins.CreateBuilder().UseFlowControlFactories().UseLlmDFlowControlFactories().Build();
        using var document = JsonDocument.Parse(json);
        Assert.True(built.Registry.TryGet(BuiltInPlugins.ProgramAwareFairness, out var registration));
        var errors = new ValidationErrors();

        registration.Parameters.Validate(document.RootElement, "parameters", errors);

        Assert.Contains(errors.Errors, e => (e.Path + ": " + e.Message).Contains(expected, StringComparison.Ordinal));
    }
}
