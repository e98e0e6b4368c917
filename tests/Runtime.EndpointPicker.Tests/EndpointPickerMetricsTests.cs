using Runtime.BodyParsing;
using Runtime.EndpointPicker;
using Runtime.EndpointPicker.Admission;
using Runtime.ExtProc.Processing;
using Runtime.Endpoints;
using Runtime.FlowControl;
using Runtime.Telemetry.Prometheus;

namespace Runtime.EndpointPicker.Tests;

/// <summary>
/// The picker's families against upstream-facts §6: GIE v1.5.0 names, label sets, help and buckets,
/// and each one's llm-d v0.10 twin, recorded from one call.
/// </summary>
public sealed class EndpointPickerMetricsTests : IDisposable
{
    private const string Labels = "model_name=\"m\",target_model_name=\"t\"";
    private const string LlmD = "fairness_id=\"f\",model_name=\"m\",priority=\"3\",target_model_name=\"t\"";

    private static readonly RequestMetricLabels s_request = new("m", "t", "f", "3");

    private readonly EndpointPickerMetrics _metrics = new("pool-a", "ns-a");
    private readonly PrometheusExporter _exporter;

    public EndpointPickerMetricsTests()
    {
        _exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = m => ReferenceEquals(m, _metrics.Meter) });
    }

    public void Dispose()
    {
        _exporter.Dispose();
        _metrics.Dispose();
    }

    [Fact]
    public void PickedThenCompleted_RecordsGieAndLlmDFamiliesWithTheirLabels()
    {
        _metrics.Picked(s_request, 1000);
        var page = _exporter.Render();
        Assert.Contains($"inference_objective_running_requests{{model_name=\"m\"}} 1\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_request_running{{{LlmD}}} 1\n", page, StringComparison.Ordinal);

        _metrics.Completed(s_request, new CompletedRequest(2.0, 0.5, 300, new TokenUsage(10, 4, 2, HasPromptTokensDetails: true), Streaming: true));
        page = _exporter.Render();

        Assert.Contains("# HELP inference_objective_request_total [ALPHA] Counter of inference objective requests broken out for each model and target model.\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_objective_request_total{model_name=\"m\",priority=\"3\",target_model_name=\"t\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_request_total{{{LlmD}}} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("# HELP llm_d_epp_request_total [ALPHA] Total number of processed requests.\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_objective_running_requests{model_name=\"m\"} 0\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_objective_request_sizes_sum{{{Labels}}} 1000\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_objective_request_sizes_bucket{{{Labels},le=\"1024\"}} 1\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_objective_response_sizes_bucket{{{Labels},le=\"32778\"}} 1\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_response_size_bytes_sum{{{LlmD}}} 300\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_objective_request_duration_seconds_sum{{{Labels}}} 2\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_objective_input_tokens_sum{{{Labels}}} 10\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_objective_output_tokens_bucket{{{Labels},le=\"8192\"}} 1\n", page, StringComparison.Ordinal);
        Assert.DoesNotContain("inference_objective_output_tokens_bucket{model_name=\"m\",target_model_name=\"t\",le=\"16384\"}", page, StringComparison.Ordinal);
        Assert.Contains($"inference_objective_prompt_cached_tokens_sum{{{Labels}}} 2\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_request_cached_tokens_sum{{{LlmD}}} 2\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_objective_normalized_time_per_output_token_seconds_sum{{{Labels}}} 0.5\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_request_ntpot_seconds_sum{{{LlmD}}} 0.5\n", page, StringComparison.Ordinal);
        Assert.Contains("llm_d_epp_request_ttft_seconds_sum{fairness_id=\"f\",model_name=\"m\",priority=\"3\",streaming=\"true\",target_model_name=\"t\"} 0.5\n", page, StringComparison.Ordinal);
        Assert.Contains("llm_d_epp_request_ttft_seconds_bucket{fairness_id=\"f\",model_name=\"m\",priority=\"3\",streaming=\"true\",target_model_name=\"t\",le=\"120\"} 1\n", page, StringComparison.Ordinal);
        // (e2e − TTFT) / (output − 1) = 1.5 / 3
        Assert.Contains($"llm_d_epp_request_streaming_tpot_seconds_sum{{{LlmD}}} 0.5\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Completed_WithoutUsageOrModel_RecordsNoTokensAndLeavesRunningAlone()
    {
        var anonymous = new RequestMetricLabels(string.Empty, string.Empty, "f", "0");
        _metrics.Picked(anonymous, 10);
        _metrics.Completed(anonymous, new CompletedRequest(1.0, -1, 0, Usage: null, Streaming: false));
        _metrics.Completed(s_request, new CompletedRequest(1.0, 1.0, 10, new TokenUsage(0, 0, 0), Streaming: false));
        var page = _exporter.Render();

        Assert.DoesNotContain("inference_objective_running_requests{model_name=\"\"}", page, StringComparison.Ordinal);
        Assert.DoesNotContain("inference_objective_input_tokens", page, StringComparison.Ordinal);
        Assert.DoesNotContain("inference_objective_prompt_cached_tokens", page, StringComparison.Ordinal);
        Assert.DoesNotContain("normalized_time_per_output_token", page, StringComparison.Ordinal);
        Assert.DoesNotContain("llm_d_epp_request_streaming_tpot_seconds", page, StringComparison.Ordinal);
        Assert.Contains("llm_d_epp_request_ttft_seconds_count{fairness_id=\"f\",model_name=\"m\",priority=\"3\",streaming=\"false\",target_model_name=\"t\"} 1\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_CountsTheGieCodeUnderBothFamilies()
    {
        _metrics.Error(s_request, EndpointPickerErrors.QueueFull);
        var page = _exporter.Render();

        Assert.Contains("inference_objective_request_error_total{error_code=\"ResourceExhausted\",model_name=\"m\",target_model_name=\"t\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_request_error_total{{error_code=\"ResourceExhausted\",{LlmD}}} 1\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void SchedulingAttempt_SuccessNamesTheEndpoint_FailureLeavesItEmpty()
    {
        _metrics.SchedulingAttempt("t", new Endpoint("pod-1-rank-0", "10.0.0.1", 8000));
        _metrics.SchedulingAttempt("t", null);
        _metrics.Scheduled(0.0003);
        var page = _exporter.Render();

        Assert.Contains("inference_extension_scheduler_attempts_total{namespace=\"ns-a\",pod_name=\"pod-1-rank-0\",port=\"8000\",status=\"success\",target_model_name=\"t\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_extension_scheduler_attempts_total{namespace=\"\",pod_name=\"\",port=\"\",status=\"failure\",target_model_name=\"t\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("llm_d_epp_scheduler_attempts_total{endpoint_name=\"pod-1-rank-0\",namespace=\"ns-a\",port=\"8000\",status=\"success\",target_model_name=\"t\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_extension_scheduler_e2e_duration_seconds_bucket{le=\"0.0005\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("llm_d_epp_scheduler_e2e_duration_seconds_count 1\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelRewrite_CountsTheDecisionByRewriteName()
    {
        _metrics.ModelRewrite("canary", "m", "t");
        var page = _exporter.Render();

        Assert.Contains("inference_extension_model_rewrite_decisions_total{model_name=\"m\",model_rewrite_name=\"canary\",target_model=\"t\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("llm_d_epp_model_rewrite_decisions_total{model_name=\"m\",model_rewrite_name=\"canary\",target_model=\"t\"} 1\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void FlowControl_HeldEnqueuedFinished_RecordsQueueFamiliesWithPoolAndModels()
    {
        _metrics.FlowControlHeld(s_request, 512, 1);
        var page = _exporter.Render();
        Assert.Contains("inference_extension_flow_control_queue_size{fairness_id=\"f\",inference_pool=\"pool-a\",model_name=\"m\",priority=\"3\",target_model_name=\"t\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("llm_d_epp_flow_control_queue_bytes{fairness_id=\"f\",inference_pool=\"pool-a\",model_name=\"m\",priority=\"3\",target_model_name=\"t\"} 512\n", page, StringComparison.Ordinal);

        _metrics.FlowControlEnqueued(s_request, "NotYetFinalized", 0.00005);
        _metrics.FlowControlHeld(s_request, 512, -1);
        _metrics.FlowControlFinished(s_request, "Dispatched", 0.02);
        page = _exporter.Render();

        Assert.Contains("inference_extension_flow_control_queue_size{fairness_id=\"f\",inference_pool=\"pool-a\",model_name=\"m\",priority=\"3\",target_model_name=\"t\"} 0\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_extension_flow_control_request_enqueue_duration_seconds_bucket{fairness_id=\"f\",outcome=\"NotYetFinalized\",priority=\"3\",le=\"0.0001\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_extension_flow_control_request_queue_duration_seconds_bucket{fairness_id=\"f\",inference_pool=\"pool-a\",model_name=\"m\",outcome=\"Dispatched\",priority=\"3\",target_model_name=\"t\",le=\"0.025\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("llm_d_epp_flow_control_requests_total{inference_pool=\"pool-a\",outcome=\"Dispatched\",priority=\"3\"} 1\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void ProcessingAndItl_RecordIntoLlmDBuckets()
    {
        _metrics.RequestProcessed(0.0007);
        _metrics.ResponseProcessed(0.0002);
        _metrics.InterTokenLatency(s_request, 0.03);
        var page = _exporter.Render();

        Assert.Contains("llm_d_epp_request_processing_duration_seconds_bucket{le=\"0.001\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("llm_d_epp_response_processing_duration_seconds_bucket{le=\"0.00025\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_request_streaming_itl_seconds_bucket{{{LlmD},le=\"0.04\"}} 1\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_IsOneWithBuildLabels()
    {
        var page = _exporter.Render();

        Assert.Contains("# HELP inference_extension_info [ALPHA] General information of the current build of Inference Extension.\n", page, StringComparison.Ordinal);
        Assert.Matches("inference_extension_info\\{build_ref=\"[^\"]*\",commit=\"[^\"]*\"\\} 1\n", page);
        Assert.Matches("llm_d_epp_info\\{build_ref=\"[^\"]*\",commit=\"[^\"]*\"\\} 1\n", page);
    }

    [Theory]
    [InlineData(FlowControlOutcome.Dispatched, "Dispatched")]
    [InlineData(FlowControlOutcome.RejectedCapacity, "RejectedCapacity")]
    [InlineData(FlowControlOutcome.EvictedTtl, "EvictedTTL")]
    [InlineData(FlowControlOutcome.EvictedCancelled, "EvictedContextCancelled")]
    [InlineData(FlowControlOutcome.RejectedOther, "RejectedOther")]
    [InlineData(FlowControlOutcome.RejectedShutdown, "RejectedOther")]
    [InlineData(FlowControlOutcome.EvictedShutdown, "EvictedOther")]
    public void OutcomeName_IsGoQueueOutcome(FlowControlOutcome outcome, string expected) =>
        Assert.Equal(expected, RequestAdmission.OutcomeName(outcome));
}
