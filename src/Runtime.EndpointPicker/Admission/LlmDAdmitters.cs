using System.Globalization;
using Runtime.Endpoints;
using Runtime.ExtProc.Processing;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;

namespace Runtime.EndpointPicker.Admission;

/// <summary>Decides, before flow control and scheduling, whether a request may proceed (llm-d's Admitter).</summary>
internal interface IRequestAdmitter
{
    /// <summary>Null to admit, or the refusal.</summary>
    ImmediateError? Admit(int priority);
}

/// <summary>
/// llm-d v0.10's <c>probabilistic-admitter</c>: requests with priority ≥ 0 always pass; a sheddable one is
/// refused (429) with probability <c>min(saturation^power · k, 1)</c>, saturation being the mean over the
/// pool's endpoints of <c>max(waiting queue / queueDepthThreshold, KV-cache use / kvCacheUtilThreshold)</c>;
/// an endpoint without metrics counts 1. An empty pool admits (scheduling answers that).
/// </summary>
internal sealed class ProbabilisticAdmitter(string name, ProbabilisticAdmitterParameters parameters) : IPlugin, IRequestAdmitter
{
    private EndpointStore? _endpoints;
    private volatile Rejection? _lastRejection;

    public string TypeName => BuiltInPlugins.ProbabilisticAdmitter;

    public string Name { get; } = name;

    public ProbabilisticAdmitterParameters Parameters { get; } = parameters;

    /// <summary>Draws in [0, 1); replaceable for tests.</summary>
    public Func<double> Random { get; set; } = System.Random.Shared.NextDouble;

    /// <summary>Binds the admitter to the pool it measures (done when the host composes the picker).</summary>
    public ProbabilisticAdmitter Attach(EndpointStore endpoints)
    {
        _endpoints = endpoints;
        return this;
    }

    public ImmediateError? Admit(int priority)
    {
        if (priority >= 0 || _endpoints is null)
        {
            return null;
        }

        var endpoints = _endpoints.Current.Endpoints;
        if (endpoints.Length == 0)
        {
            return null;
        }

        var saturation = Saturation(endpoints);
        var probability = RejectProbability(saturation);
        return Random() < probability ? RejectionFor(saturation, probability) : null;
    }

    /// <summary>
    /// llm-d's refusal text, which names the figures as printed (saturation to 3 decimals, the
    /// probability to 2). The last refusal is kept and reused while its printed figures stay the
    /// same, so a shedding storm under steady saturation refuses without allocating.
    /// </summary>
    private ImmediateError RejectionFor(double saturation, double probability)
    {
        // Formatted by hand: the interpolated-string handler boxes the doubles in unoptimised code.
        Span<char> buffer = stackalloc char[96];
        "saturation=".CopyTo(buffer);
        saturation.TryFormat(buffer[11..], out var length, "F3", CultureInfo.InvariantCulture);
        var written = 11 + length;
        " prob=".CopyTo(buffer[written..]);
        written += 6;
        probability.TryFormat(buffer[written..], out length, "F2", CultureInfo.InvariantCulture);
        var figures = buffer[..(written + length)];
        var last = _lastRejection;
        if (last is not null && figures.SequenceEqual(last.Figures))
        {
            return last.Error;
        }

        var text = figures.ToString();
        var rejection = new Rejection(text, new ImmediateError(429, "probabilistic-admitter: rejected, " + text));
        _lastRejection = rejection;
        return rejection.Error;
    }

    /// <summary>The endpoints of the pool it is attached to (none before <see cref="Attach"/>).</summary>
    internal EndpointState[] AttachedEndpoints() => _endpoints?.Current.Endpoints ?? [];

    /// <summary><c>min(saturation^power · k, 1)</c>.</summary>
    public double RejectProbability(double saturation) => Math.Min(Math.Pow(saturation, Parameters.Power) * Parameters.K, 1.0);

    public double Saturation(EndpointState[] endpoints)
    {
        var total = 0.0;
        foreach (var endpoint in endpoints)
        {
            var metrics = endpoint.Metrics;
            if (ReferenceEquals(metrics, EndpointMetrics.None))
            {
                total += 1.0;
                continue;
            }

            total += Math.Max(metrics.WaitingQueueSize / (double)Parameters.QueueDepthThreshold, metrics.KvCacheUsage / Parameters.KvCacheUtilThreshold);
        }

        return total / endpoints.Length;
    }

    private sealed record Rejection(string Figures, ImmediateError Error);
}

/// <summary>
/// llm-d v0.10's <c>agent-identity</c> (Alpha): when a request carries no fairness-id header, its fairness id
/// (its flow-control queue) is the first non-empty of the configured session headers, so every turn of an
/// agent session lands in the same flow.
/// </summary>
internal sealed class AgentIdentity(string name, IReadOnlyList<string> sessionHeaders) : IPlugin
{
    public string TypeName => BuiltInPlugins.AgentIdentity;

    public string Name { get; } = name;

    public IReadOnlyList<string> SessionHeaders { get; } = sessionHeaders;

    internal byte[][] SessionHeadersUtf8 { get; } = [.. sessionHeaders.Select(System.Text.Encoding.ASCII.GetBytes)];
}
