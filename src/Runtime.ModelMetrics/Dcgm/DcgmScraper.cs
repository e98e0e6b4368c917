using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Prometheus;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;

namespace Runtime.ModelMetrics.Dcgm;

/// <summary>
/// <c>dcgm-data-source</c> feeding <c>dcgm-extractor</c>: every interval, fetches each endpoint's DCGM
/// exporter page (<c>scheme://&lt;pod address&gt;:port/path</c>) and publishes its GPU utilisation as
/// the endpoint attribute <c>GPUUtilization/dcgm-extractor</c>. A failed scrape keeps the last value
/// (llm-d keeps attributes until overwritten) and is logged once per failure streak.
/// </summary>
/// <remarks>Pages are read into one reusable buffer per endpoint and parsed in place (no allocation per sample).</remarks>
internal sealed partial class DcgmScraper : IAsyncDisposable
{
    private readonly EndpointStore _store;
    private readonly DcgmDataSourceParameters _parameters;
    private readonly HttpClient _client;
    private readonly ILogger _logger;
    private readonly Dictionary<EndpointState, Target> _targets = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private CancellationTokenSource? _linked;

    public DcgmScraper(EndpointStore store, DcgmDataSourceParameters parameters, TimeSpan interval, ILoggerFactory? loggers = null, HttpMessageHandler? handler = null)
    {
        _store = store;
        _parameters = parameters;
        Interval = interval > TimeSpan.Zero ? interval : TimeSpan.FromSeconds(1);
        _logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger<DcgmScraper>();
        _client = new HttpClient(handler ?? CreateHandler(parameters), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public TimeSpan Interval { get; }

    /// <summary>Scrapes completed with a reading (for tests and logs).</summary>
    public long Readings => Interlocked.Read(ref _readings);

    private long _readings;

    public void Start(CancellationToken stopping)
    {
        _linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _stopping.Token);
        var token = _linked.Token;
        _loop = Task.Run(() => RunAsync(token), CancellationToken.None);
    }

    /// <summary>One round over the current endpoints (the loop calls it every interval).</summary>
    public async Task ScrapeOnceAsync(CancellationToken cancellationToken)
    {
        var endpoints = _store.Current.Endpoints;
        var tasks = new Task[endpoints.Length];
        for (var i = 0; i < endpoints.Length; i++)
        {
            tasks[i] = ScrapeAsync(TargetFor(endpoints[i]), cancellationToken);
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        foreach (var retired in _targets.Keys.Where(state => state.IsRetired).ToArray())
        {
            _targets[retired].Buffer.Dispose();
            _targets.Remove(retired);
        }
    }

    private async Task RunAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                await ScrapeOnceAsync(token).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private Target TargetFor(EndpointState state)
    {
        if (!_targets.TryGetValue(state, out var target))
        {
            var endpoint = state.Endpoint;
            var host = Endpoint.FormatHostPort(endpoint.Address, _parameters.Port);
            target = new Target(state, new Uri($"{_parameters.Scheme}://{host}{_parameters.Path}", UriKind.Absolute), PodName(endpoint));
            _targets.Add(state, target);
            Log.Added(_logger, endpoint, target.Uri);
        }

        return target;
    }

    /// <summary>The pod's name as DCGM's <c>pod</c> label has it: a Kubernetes endpoint's name without its "-rank-N" suffix; none for a static endpoint.</summary>
    internal static byte[] PodName(Endpoint endpoint)
    {
        var name = endpoint.Name;
        if (name == endpoint.HostPort)
        {
            return [];
        }

        var rank = name.LastIndexOf("-rank-", StringComparison.Ordinal);
        if (rank > 0 && int.TryParse(name.AsSpan(rank + 6), NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            name = name[..rank];
        }

        return Encoding.UTF8.GetBytes(name);
    }

    private async Task ScrapeAsync(Target target, CancellationToken token)
    {
        await Task.Yield();
        string? failure = null;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
            deadline.CancelAfter(Interval < TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : Interval);
            using var response = await _client.GetAsync(target.Uri, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                failure = $"HTTP {(int)response.StatusCode}";
                return;
            }

            using var stream = await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
            if (!await target.Buffer.TryReadFromAsync(stream, response.Content.Headers.ContentLength, deadline.Token).ConfigureAwait(false))
            {
                failure = $"page larger than {target.Buffer.MaxBytes} bytes";
                return;
            }

            if (!DcgmGpuUtilization.TryRead(target.Buffer.Page, target.PodName, out var utilization, out _))
            {
                failure = $"no {Encoding.ASCII.GetString(DcgmGpuUtilization.MetricName)} sample for pod \"{Encoding.UTF8.GetString(target.PodName)}\"";
                return;
            }

            target.State.Attributes.Set(BuiltInPlugins.GpuUtilizationAttribute, utilization);
            Interlocked.Increment(ref _readings);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            failure = ex is OperationCanceledException ? "timed out" : ex.Message;
        }
        finally
        {
            if (failure is not null)
            {
                if (target.Failures++ == 0)
                {
                    Log.Failed(_logger, target.State.Endpoint, target.Uri, failure);
                }
            }
            else if (target.Failures > 0)
            {
                target.Failures = 0;
                Log.Recovered(_logger, target.State.Endpoint);
            }
        }
    }

    private static SocketsHttpHandler CreateHandler(DcgmDataSourceParameters parameters)
    {
        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) };
        if (parameters.InsecureSkipVerify)
        {
#pragma warning disable CA5359 // dcgm-data-source insecureSkipVerify (llm-d's default): DCGM exporters serve self-signed certificates.
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }

        return handler;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _client.Dispose();
        foreach (var target in _targets.Values)
        {
            target.Buffer.Dispose();
        }

        _linked?.Dispose();
        _stopping.Dispose();
    }

    private sealed class Target(EndpointState state, Uri uri, byte[] podName)
    {
        public EndpointState State { get; } = state;

        public Uri Uri { get; } = uri;

        public byte[] PodName { get; } = podName;

        public MetricsPageBuffer Buffer { get; } = new();

        public int Failures { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(4150, LogLevel.Debug, "Scraping DCGM GPU metrics of {Endpoint} from {Uri}")]
        public static partial void Added(ILogger logger, Endpoint endpoint, Uri uri);

        [LoggerMessage(4151, LogLevel.Warning, "DCGM scrape of {Endpoint} from {Uri} failed: {Reason}; keeping its last GPU utilisation")]
        public static partial void Failed(ILogger logger, Endpoint endpoint, Uri uri, string reason);

        [LoggerMessage(4152, LogLevel.Information, "DCGM scrapes of {Endpoint} succeed again")]
        public static partial void Recovered(ILogger logger, Endpoint endpoint);
    }
}
