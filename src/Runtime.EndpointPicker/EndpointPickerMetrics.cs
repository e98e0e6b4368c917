using System.Diagnostics.Metrics;

namespace Runtime.EndpointPicker;

/// <summary>The endpoint picker's instruments, under the Go project's metric names (SPEC §7).</summary>
public sealed class EndpointPickerMetrics : IDisposable
{
    public const string MeterName = "Runtime.EndpointPicker";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _requests;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _duration;
    private readonly Histogram<long> _inputTokens;
    private readonly Histogram<long> _outputTokens;
    private readonly UpDownCounter<long> _running;
    private readonly Histogram<double> _schedulerDuration;

    public EndpointPickerMetrics()
    {
        _requests = _meter.CreateCounter<long>("inference_objective_request_total", description: "Requests picked for, by model and target model.");
        _errors = _meter.CreateCounter<long>("inference_objective_request_error_total", description: "Requests answered with an error, by model and error code.");
        _duration = _meter.CreateHistogram<double>("inference_objective_request_duration_seconds", "s", "From the request's pick to the end of its response.");
        _inputTokens = _meter.CreateHistogram<long>("inference_objective_input_tokens", description: "Prompt tokens per response (from usage).");
        _outputTokens = _meter.CreateHistogram<long>("inference_objective_output_tokens", description: "Completion tokens per response (from usage).");
        _running = _meter.CreateUpDownCounter<long>("inference_objective_running_requests", description: "Requests picked whose response has not ended.");
        _schedulerDuration = _meter.CreateHistogram<double>("inference_extension_scheduler_e2e_duration_seconds", "s", "Time to schedule one request.");
    }

    public void Picked(string model, string targetModel)
    {
        _requests.Add(1, new KeyValuePair<string, object?>("model_name", model), new KeyValuePair<string, object?>("target_model_name", targetModel));
        _running.Add(1, new KeyValuePair<string, object?>("model_name", model));
    }

    public void Finished(string model, string targetModel, double seconds)
    {
        _running.Add(-1, new KeyValuePair<string, object?>("model_name", model));
        _duration.Record(seconds, new KeyValuePair<string, object?>("model_name", model), new KeyValuePair<string, object?>("target_model_name", targetModel));
    }

    public void Usage(string model, long inputTokens, long outputTokens)
    {
        _inputTokens.Record(inputTokens, new KeyValuePair<string, object?>("model_name", model));
        _outputTokens.Record(outputTokens, new KeyValuePair<string, object?>("model_name", model));
    }

    public void Error(string model, EndpointPickerError error) =>
        _errors.Add(1, new KeyValuePair<string, object?>("model_name", model), new KeyValuePair<string, object?>("error_code", EndpointPickerError.CodeName(error.HttpStatus)));

    public void Scheduled(double seconds) => _schedulerDuration.Record(seconds);

    public void Dispose() => _meter.Dispose();
}
