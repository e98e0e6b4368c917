using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Extraction;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Prometheus;
using Runtime.Primitives.Diagnostics;

namespace Runtime.ModelMetrics.Scraping;

/// <summary>
/// Keeps <see cref="EndpointState.Metrics"/> of every endpoint in an <see cref="EndpointStore"/> fresh
/// by scraping each one's Prometheus page every <see cref="MetricsScraperOptions.Interval"/>.
/// </summary>
/// <remarks>
/// One loop drives every endpoint: each tick of a <see cref="PeriodicTimer"/> starts a scrape for every
/// endpoint whose previous scrape has finished (at most <see cref="MetricsScraperOptions.MaxConcurrentScrapes"/>
/// in flight), so there is no task or timer per endpoint and a slow server never has two scrapes
/// outstanding. All scrapes share one <see cref="HttpClient"/> with keep-alive HTTP/1.1 connections; each
/// endpoint reuses its own pooled page buffer and LoRA cache, so a scrape allocates only the request and
/// response objects and the new <see cref="EndpointMetrics"/>. Measured cost: perf/README.md, "Metrics scraping".
/// <para>
/// Endpoints that join or leave are picked up at the next tick by comparing <see cref="EndpointStore.Current"/>
/// with the snapshot last seen (a reference comparison): all bookkeeping stays on the loop, whereas
/// <see cref="EndpointStore.Changed"/> would run it on the publisher's thread. A removed or retired
/// endpoint's scrape is cancelled and its result never published.
/// </para>
/// <para>
/// A failed scrape (non-2xx, timeout, transport error, oversized page) keeps the previous metrics: they
/// age, and consumers treat them as stale after 200 ms. Failures are counted in <see cref="Metrics"/>.
/// </para>
/// <para>One file (~480 lines) on purpose: the scrape loop, per-endpoint scheduling, staleness and
/// the publish into endpoint state share one set of per-endpoint fields that must change together.</para>
/// </remarks>
internal sealed class EndpointMetricsScraper : IAsyncDisposable
{
    private readonly EndpointStore _store;
    private readonly ModelServerMetricsMappings _mappings;
    private readonly MetricsScraperOptions _options;
    private int _kinds;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HttpClient _client;
    private readonly bool _ownsMetrics;
    private readonly Dictionary<EndpointState, Entry> _entries = [];
    private readonly CancellationTokenSource _stopping = new();
    private Entry[] _order = [];
    private EndpointSnapshot? _seen;
    private Task? _loop;
    private int _inFlight;

    public EndpointMetricsScraper(
        EndpointStore store,
        ModelServerMetricsMappings mappings,
        MetricsScraperOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        MetricsScrapeMetrics? metrics = null,
        HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(mappings);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _mappings = mappings;
        _options = options;
        _kinds = (int)options.Kinds;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<EndpointMetricsScraper>();
        _ownsMetrics = metrics is null;
        Metrics = metrics ?? new MetricsScrapeMetrics();
        _client = new HttpClient(handler ?? CreateHandler(options), disposeHandler: true)
        {
            // Each scrape has its own deadline (a reused CancellationTokenSource); HttpClient's would allocate one more per request.
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        // Ask for the classic text format: prometheus_client would otherwise be free to answer OpenMetrics or protobuf.
        _client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
    }

    public MetricsScrapeMetrics Metrics { get; }

    /// <summary>What each scrape reads (the options' kinds at start); a config reload may add kinds its new plugins use, from the next scrape on.</summary>
    public MetricKinds Kinds => (MetricKinds)Volatile.Read(ref _kinds);

    /// <summary>Reads <paramref name="kinds"/> too from the next scrape on.</summary>
    public void AddKinds(MetricKinds kinds)
    {
        int current, next;
        do
        {
            current = Volatile.Read(ref _kinds);
            next = current | (int)kinds;
        }
        while (current != next && Interlocked.CompareExchange(ref _kinds, next, current) != current);
    }

    /// <summary>Endpoints being scraped (as of the last tick).</summary>
    public int EndpointCount => Volatile.Read(ref _order).Length;

    /// <summary>The shared handler: keep-alive HTTP/1.1, no proxy, no decompression, optional certificate skip.</summary>
    public static SocketsHttpHandler CreateHandler(MetricsScraperOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout,

            // Re-open connections now and then so a recycled pod IP never keeps a stale connection for long.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),

            // Outlive a long refresh interval (the Go EPP is often run at 60 s), so connections are kept between scrapes.
            PooledConnectionIdleTimeout = options.Interval * 3 > TimeSpan.FromMinutes(1) ? options.Interval * 3 : TimeSpan.FromMinutes(1),
            MaxConnectionsPerServer = 2,
        };

        if (options.InsecureSkipVerify)
        {
#pragma warning disable CA5359 // metrics-data-source insecureSkipVerify (GIE's default): model servers serve self-signed certificates.
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }

        return handler;
    }

    /// <summary>Starts the loop; <paramref name="stopping"/> (e.g. the plugin handle's) also stops it.</summary>
    public void Start(CancellationToken stopping = default)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The scraper is already started.");
        }

        if (stopping.CanBeCanceled)
        {
            stopping.Register(static s => ((CancellationTokenSource)s!).Cancel(), _stopping);
        }

        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Stops the loop, cancels scrapes in flight and waits for them.</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        var pending = new List<Task>();
        foreach (var entry in _entries.Values)
        {
            if (entry.Remove() is { } scrape)
            {
                pending.Add(scrape);
            }
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        _entries.Clear();
        Volatile.Write(ref _order, []);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _client.Dispose();
        _stopping.Dispose();
        if (_ownsMetrics)
        {
            Metrics.Dispose();
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.Interval, _time);
        try
        {
            do
            {
                Tick();
            }
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private void Tick()
    {
        var snapshot = _store.Current;
        if (!ReferenceEquals(snapshot, _seen))
        {
            Reconcile(snapshot);
        }

        foreach (var entry in _order)
        {
            if (Volatile.Read(ref _inFlight) >= _options.MaxConcurrentScrapes)
            {
                break;
            }

            if (entry.TryBegin())
            {
                Interlocked.Increment(ref _inFlight);
                entry.Scrape = ScrapeAsync(entry);
            }
        }
    }

    private void Reconcile(EndpointSnapshot snapshot)
    {
        _seen = snapshot;
        var wanted = new HashSet<EndpointState>(snapshot.Endpoints);
        foreach (var (state, entry) in _entries)
        {
            if (!wanted.Contains(state))
            {
                entry.Remove();
                _entries.Remove(state);
                ScrapeLog.EndpointRemoved(_logger, state.Endpoint);
            }
        }

        foreach (var state in snapshot.Endpoints)
        {
            if (!_entries.ContainsKey(state) && !state.IsRetired)
            {
                var entry = new Entry(state, BuildUri(state.Endpoint), _mappings.For(state.Endpoint), _options, _time);
                _entries.Add(state, entry);
                ScrapeLog.EndpointAdded(_logger, state.Endpoint, entry.Uri, entry.Mapping.Engine);
            }
        }

        Volatile.Write(ref _order, [.. _entries.Values]);
    }

    private Uri BuildUri(Endpoint endpoint)
    {
        var hostPort = _options.Port > 0 ? new Endpoint(endpoint.Name, endpoint.Address, _options.Port).HostPort : endpoint.HostPort;
        return new($"{_options.Scheme}://{hostPort}{_options.Path}", UriKind.Absolute);
    }

    private async Task ScrapeAsync(Entry entry)
    {
        // Yield first so the loop's tick starts every endpoint's request before any completes.
        await Task.Yield();
        var token = entry.StartDeadline();
        ScrapeFailure? failure = null;
        string? detail = null;
        var crashed = false;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, entry.Uri);
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                failure = ScrapeFailure.HttpStatus;
                detail = $"HTTP {(int)response.StatusCode}";
                return;
            }

            var content = response.Content;
            using var stream = await content.ReadAsStreamAsync(token).ConfigureAwait(false);
            if (!await entry.Buffer.TryReadFromAsync(stream, content.Headers.ContentLength, token).ConfigureAwait(false))
            {
                failure = ScrapeFailure.PageTooLarge;
                detail = $"larger than {_options.MaxPageBytes} bytes";
                return;
            }

            if (entry.IsRemoved || entry.State.IsRetired)
            {
                return;
            }

            var reading = MetricsReading.From(entry.State.Metrics);
            EndpointMetricsExtractor.Extract(entry.Buffer.Page, entry.Mapping, Kinds, entry.Lora, ref reading);
            if (reading.MalformedLines > 0)
            {
                Metrics.RecordMalformedLines(reading.MalformedLines);
                ScrapeLog.MalformedLines(_logger, entry.State.Endpoint, reading.MalformedLines);
            }

            if (reading.Found == MetricKinds.None && Kinds != MetricKinds.None)
            {
                // Publishing would stamp the old (or zero) values as fresh: a server answering garbage
                // would look idle and attract every request. Leave its metrics to go stale instead.
                failure = ScrapeFailure.NoMetrics;
                detail = $"none of the scraped metrics on the page ({reading.Samples} valid samples, {reading.MalformedLines} malformed lines)";
                return;
            }

            entry.State.PublishMetrics(reading.ToMetrics(_time.GetTimestamp()));
        }
        catch (OperationCanceledException) when (entry.IsRemoved || _stopping.IsCancellationRequested)
        {
            // Stopped or removed: not a failure of the endpoint.
        }
        catch (OperationCanceledException)
        {
            failure = ScrapeFailure.Timeout;
            detail = $"no answer within {_options.Timeout.TotalMilliseconds} ms";
        }
        catch (HttpRequestException ex)
        {
            failure = ScrapeFailure.Transport;
            detail = ex.Message;
        }
        catch (IOException ex)
        {
            failure = ScrapeFailure.Transport;
            detail = ex.Message;
        }
#pragma warning disable CA1031 // A bug in reading one page must not fault the scrape loop; it is logged and counted.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            crashed = true;
            SwallowedErrors.Report(_logger, LogLevel.Error, "model_metrics", "scrape", $"scraping {entry.Uri} threw; the endpoint keeps its last metrics", ex);
        }
        finally
        {
            Metrics.RecordScrape();
            if (failure is { } reason)
            {
                Metrics.RecordFailure(reason);
                entry.RecordFailure(_logger, reason, detail ?? string.Empty);
            }
            else if (!crashed)
            {
                entry.RecordSuccess(_logger);
            }

            entry.End();
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>
    /// One endpoint's scrape state. The loop calls <see cref="TryBegin"/> and <see cref="Remove"/>; the
    /// scrape calls <see cref="End"/>; the lock keeps "remove while a scrape runs" from returning the
    /// page buffer under the scrape's feet (it is returned by whichever of the two comes last).
    /// </summary>
    private sealed class Entry : IDisposable
    {
        private readonly Lock _lock = new();
        private readonly TimeSpan _timeout;
        private readonly TimeProvider _time;
        private CancellationTokenSource _deadline;
        private bool _busy;
        private bool _removed;
        private int _consecutiveFailures;

        public Entry(EndpointState state, Uri uri, EngineMetricsMapping mapping, MetricsScraperOptions options, TimeProvider time)
        {
            State = state;
            Uri = uri;
            Mapping = mapping;
            Buffer = new MetricsPageBuffer(options.MaxPageBytes);
            _timeout = options.Timeout;
            _time = time;
            _deadline = new CancellationTokenSource(System.Threading.Timeout.InfiniteTimeSpan, time);
        }

        public EndpointState State { get; }

        public Uri Uri { get; }

        public EngineMetricsMapping Mapping { get; }

        public MetricsPageBuffer Buffer { get; }

        public LoraAdapterCache Lora { get; } = new();

        public Task? Scrape { get; set; }

        public bool IsRemoved
        {
            get
            {
                lock (_lock)
                {
                    return _removed;
                }
            }
        }

        public bool TryBegin()
        {
            lock (_lock)
            {
                if (_busy || _removed)
                {
                    return false;
                }

                _busy = true;
                return true;
            }
        }

        /// <summary>Arms this scrape's deadline, reusing the source unless the last scrape timed out.</summary>
        public CancellationToken StartDeadline()
        {
            lock (_lock)
            {
                if (!_deadline.TryReset())
                {
                    _deadline.Dispose();
                    _deadline = new CancellationTokenSource(System.Threading.Timeout.InfiniteTimeSpan, _time);
                }

                if (_removed)
                {
                    _deadline.Cancel();
                }
                else
                {
                    _deadline.CancelAfter(_timeout);
                }

                return _deadline.Token;
            }
        }

        public void End()
        {
            lock (_lock)
            {
                _busy = false;
                Buffer.Clear();
                if (_removed)
                {
                    Release();
                }
            }
        }

        /// <summary>Stops scraping this endpoint; returns the scrape still running, if any.</summary>
        public Task? Remove()
        {
            lock (_lock)
            {
                if (_removed)
                {
                    return _busy ? Scrape : null;
                }

                _removed = true;
                if (!_busy)
                {
                    Release();
                    return null;
                }

                _deadline.Cancel();
                return Scrape;
            }
        }

        public void RecordFailure(ILogger logger, ScrapeFailure reason, string detail)
        {
            if (_consecutiveFailures++ == 0)
            {
                ScrapeLog.FailingStarted(logger, State.Endpoint, reason, detail);
            }
            else
            {
                ScrapeLog.FailedAgain(logger, State.Endpoint, reason, detail);
            }
        }

        public void RecordSuccess(ILogger logger)
        {
            if (_consecutiveFailures > 0)
            {
                ScrapeLog.Recovered(logger, State.Endpoint, _consecutiveFailures);
                _consecutiveFailures = 0;
            }
        }

        /// <summary>Only through <see cref="Remove"/>/<see cref="End"/>, which know whether a scrape still uses the buffer.</summary>
        void IDisposable.Dispose() => Remove();

        private void Release()
        {
            Buffer.Dispose();
            _deadline.Dispose();
        }
    }
}
