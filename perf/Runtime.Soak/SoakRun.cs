using System.Diagnostics;
using System.Globalization;
using System.Text;
using Runtime.Simulation;
using Runtime.TestSupport.ExtProc;
using Runtime.TestSupport.Hosting;
using Runtime.TestSupport.Kubernetes;

namespace Runtime.Soak;

/// <summary>One soak: set up, warm up, measure, judge.</summary>
internal sealed class SoakRun(SoakOptions options)
{
    private const int Simulators = 4; // three served from the start, the fourth added by the config change
    private const int MaxInFlight = 1024;
    private static readonly TimeSpan s_exchangeTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_downtime = TimeSpan.FromSeconds(5);
    private const string PoolName = "sims";
    private const string PoolNamespace = "ml";
    private const string KubeToken = "soak-token";

    private readonly ModelServerSimulator?[] _simulators = new ModelServerSimulator?[Simulators];
    private readonly SimulatorOptions[] _simulatorOptions = new SimulatorOptions[Simulators];
    private readonly List<string> _failures = [];
    private FakeKubeApiServer? _api;
    private int _inFlight;
    private long _skipped;
    private int _watchDrops;

    private string EndpointsFile => Path.Combine(options.OutDirectory, "endpoints.txt");

    private string ConfigFile => Path.Combine(options.OutDirectory, "epp-config.yaml");

    public async Task<int> RunAsync()
    {
        for (var i = 0; i < Simulators; i++)
        {
            _simulatorOptions[i] = new SimulatorOptions
            {
                Name = $"sim-{i}",
                Port = TestPorts.GetFreeTcpPort(),
                MaxRunning = 256,
                TimePerOutputToken = TimeSpan.FromMilliseconds(4),
                TimeToFirstToken = TimeSpan.FromMilliseconds(10),
            };
            _simulators[i] = await ModelServerSimulator.StartAsync(_simulatorOptions[i]);
        }

        string[] endpointFlags = options.ControlPlane == "kubernetes"
            ? ["--kubeconfig", await StartApiServerAsync(), "--pool-name", PoolName, "--pool-namespace", PoolNamespace, "--metrics-endpoint-auth=false"]
            : ["--endpoints-file", EndpointsFile];
        ShowEndpoints(3);
        WriteConfig(prefixWeight: 3);
        int grpc = TestPorts.GetFreeTcpPort(), health = TestPorts.GetFreeTcpPort(), metrics = TestPorts.GetFreeTcpPort();
        var runtime = RuntimeProcess.Start(options.Binary,
        [
            "serve", .. endpointFlags, "--config-file", ConfigFile,
            "--grpc-port", Invariant(grpc), "--grpc-health-port", Invariant(health), "--metrics-port", Invariant(metrics),
            "--bbr-grpc-port", "0", "--secure-serving=false", "--bind-address", "127.0.0.1", "--tracing=false",
        ]);
        var exit = 1;
        try
        {
            await runtime.WaitForPortsAsync([grpc, health], TimeSpan.FromSeconds(60));
            exit = await DriveAsync(runtime, new Uri($"http://127.0.0.1:{grpc}"), new Uri($"http://127.0.0.1:{metrics}/metrics"));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or IOException)
        {
            await Console.Error.WriteLineAsync($"soak: FAIL setting up: {ex.Message}");
        }
        finally
        {
            await runtime.StopAsync();
            await File.WriteAllTextAsync(Path.Combine(options.OutDirectory, "runtime.log"), runtime.Output);
            foreach (var simulator in _simulators)
            {
                if (simulator is not null)
                {
                    await simulator.DisposeAsync();
                }
            }

            if (_api is not null)
            {
                await _api.DisposeAsync();
            }
        }

        return exit;
    }

    private async Task<int> DriveAsync(RuntimeProcess runtime, Uri extProc, Uri metrics)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var upstream = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = TimeSpan.FromMinutes(1) }) { Timeout = s_exchangeTimeout };
        // Envoy spreads ext_proc streams of a worker over a few connections; two clients, two connections.
        using var pickerA = new EnvoyExtProcClient(extProc) { DefaultTimeout = s_exchangeTimeout };
        using var pickerB = new EnvoyExtProcClient(extProc) { DefaultTimeout = s_exchangeTimeout };
        var exchanges = new[] { new SoakExchange(pickerA, upstream, s_exchangeTimeout), new SoakExchange(pickerB, upstream, s_exchangeTimeout) };
        var sampler = new Sampler(runtime.Id, metrics, http);
        var traffic = new TrafficMix(options.LongPromptBytes);

        Console.WriteLine($"soak: runtime pid {runtime.Id}, {options.WarmupSeconds:F0} s warm-up, then {options.Minutes:F1} min at {options.Rate:F0} exchanges/s; out {options.OutDirectory}");
        using var stop = new CancellationTokenSource();
        var pending = new List<Task>();
        await RunTrafficAsync(TimeSpan.FromSeconds(options.WarmupSeconds), exchanges, traffic, sampler, pending, events: null, stop.Token);
        await Task.WhenAll(pending);
        pending.Clear();
        var warmupFailed = sampler.Failed;

        var measured = TimeSpan.FromMinutes(options.Minutes);
        var samples = new List<Sample>();
        await using var csv = new StreamWriter(Path.Combine(options.OutDirectory, "soak.csv"));
        await csv.WriteLineAsync(Sample.Header);
        var baseline = (sampler.Completed, sampler.Failed, sampler.Cancelled, sampler.UpstreamUnavailable);
        var clock = Stopwatch.StartNew();
        var sampling = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.SampleSeconds));
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
            {
                var sample = await sampler.TakeAsync(clock.Elapsed.TotalSeconds, Volatile.Read(ref _inFlight), stop.Token);
                samples.Add(sample);
                await csv.WriteLineAsync(sample.ToCsv());
                await csv.FlushAsync(stop.Token);
            }
        });

        var events = RunEventsAsync(measured, sampler, stop.Token);
        await RunTrafficAsync(measured, exchanges, traffic, sampler, pending, events, stop.Token);
        await Task.WhenAll(pending);
        await stop.CancelAsync();
        await sampling.ContinueWith(static _ => { }, TaskScheduler.Default);
        await events.ContinueWith(static _ => { }, TaskScheduler.Default);
        samples.Add(await sampler.TakeAsync(clock.Elapsed.TotalSeconds, 0, CancellationToken.None));
        await csv.WriteLineAsync(samples[^1].ToCsv());

        await File.WriteAllLinesAsync(Path.Combine(options.OutDirectory, "failures.log"), _failures);
        var verdict = new SoakVerdict(samples, sampler, baseline, warmupFailed, Interlocked.Read(ref _skipped), runtime.HasExited);
        if (options.ConfigChange != "config" && _simulators[3]!.RequestsServed == 0)
        {
            verdict.Problems.Add("the 4th simulator, added at half time, served nothing");
        }

        if (_api is not null && _api.OpenWatches == 0)
        {
            verdict.Problems.Add($"the runtime holds no Kubernetes watch after {_watchDrops} dropped or expired");
        }

        if (options.ConfigChange != "endpoints" && !(await http.GetStringAsync(metrics)).Contains("runtime_config_generation 2", StringComparison.Ordinal))
        {
            verdict.Problems.Add("the config file edited at half time was not applied (runtime_config_generation is not 2)");
        }

        var line = verdict.SummaryLine(options, sampler);
        await File.WriteAllTextAsync(Path.Combine(options.OutDirectory, "summary.txt"), line + Environment.NewLine);
        Console.WriteLine(line);
        return verdict.Problems.Count == 0 ? 0 : 1;
    }

    /// <summary>Starts exchanges open-loop at the configured rate until <paramref name="duration"/> is over.</summary>
    private async Task RunTrafficAsync(TimeSpan duration, SoakExchange[] exchanges, TrafficMix traffic, Sampler sampler, List<Task> pending, Task? events, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long started = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (clock.Elapsed < duration && await timer.WaitForNextTickAsync(cancellationToken))
        {
            var due = (long)(clock.Elapsed.TotalSeconds * options.Rate);
            for (; started < due; started++)
            {
                if (Volatile.Read(ref _inFlight) >= MaxInFlight)
                {
                    Interlocked.Increment(ref _skipped);
                    continue;
                }

                Interlocked.Increment(ref _inFlight);
                var plan = traffic.Next();
                var exchange = exchanges[started % exchanges.Length];
                pending.Add(Task.Run(async () =>
                {
                    try
                    {
                        var result = await exchange.RunAsync(plan, CancellationToken.None);
                        sampler.Record(result);
                        if (result.Outcome == Outcome.Failed)
                        {
                            lock (_failures)
                            {
                                _failures.Add($"{DateTimeOffset.UtcNow:O} {result.Destination ?? "-"} {plan.Body.Length} B stream={plan.Stream}: {result.Error}");
                            }
                        }
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _inFlight);
                    }
                }, CancellationToken.None));
            }

            pending.RemoveAll(static t => t.IsCompleted);
        }
    }

    /// <summary>Model-server restarts through the run, and the config change at half time.</summary>
    private async Task RunEventsAsync(TimeSpan measured, Sampler sampler, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var restartEvery = TimeSpan.FromSeconds(Math.Max(20, measured.TotalSeconds / 8));
        var nextRestart = restartEvery / 2;
        var nextWatchDrop = restartEvery / 4;
        var changed = false;
        var victim = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            if (!changed && clock.Elapsed >= measured / 2)
            {
                changed = true;
                if (options.ConfigChange is "endpoints" or "both")
                {
                    ShowEndpoints(4);
                    sampler.Event(_api is null ? "endpoints file: +sim-3" : "pod sim-3 added");
                }

                if (options.ConfigChange is "config" or "both")
                {
                    WriteConfig(prefixWeight: 1);
                    sampler.Event("config file: prefix weight 3->1");
                }
            }

            if (_api is not null && clock.Elapsed >= nextWatchDrop)
            {
                // As an API server does under load: a watch cut (re-watch from the last version), or
                // one that also expired (410 Gone, then a re-list).
                nextWatchDrop += restartEvery / 2;
                var expire = _watchDrops++ % 2 == 1;
                if (expire)
                {
                    _api.Compact();
                }

                _api.DropWatches();
                sampler.Event(expire ? "watches expired" : "watches dropped");
            }

            if (clock.Elapsed >= nextRestart && clock.Elapsed < measured - restartEvery / 2)
            {
                nextRestart += restartEvery;
                var index = victim++ % 3;
                sampler.Event($"restart sim-{index}");
                _api?.Apply(PodJson(index, ready: false));
                await _simulators[index]!.StopAsync();
                await _simulators[index]!.DisposeAsync();
                _simulators[index] = null;
                await Task.Delay(s_downtime, cancellationToken);
                _simulators[index] = await ModelServerSimulator.StartAsync(_simulatorOptions[index], cancellationToken);
                _api?.Apply(PodJson(index, ready: true));
            }
        }
    }

    /// <summary>A fake API server holding the pool, and a kubeconfig for it; returns the kubeconfig's path.</summary>
    private async Task<string> StartApiServerAsync()
    {
        _api = await FakeKubeApiServer.StartAsync();
        _api.RequiredToken = KubeToken;
        var ports = string.Join(",", _simulatorOptions.Select(o => "{\"number\":" + Invariant(o.Port) + "}"));
        _api.Apply($$$"""
            {"apiVersion":"inference.networking.k8s.io/v1","kind":"InferencePool","metadata":{"name":"{{{PoolName}}}","namespace":"{{{PoolNamespace}}}"},
             "spec":{"selector":{"matchLabels":{"app":"sim"}},"targetPorts":[{{{ports}}}]}}
            """);
        var path = Path.Combine(options.OutDirectory, "kubeconfig");
        await File.WriteAllTextAsync(path, $$$"""
            apiVersion: v1
            kind: Config
            current-context: soak
            contexts: [{name: soak, context: {cluster: soak, user: soak}}]
            clusters: [{name: soak, cluster: {server: "{{{_api.Url.ToString().TrimEnd('/')}}}"}}]
            users: [{name: soak, user: {token: {{{KubeToken}}}}}]
            """);
        return path;
    }

    /// <summary>The first <paramref name="count"/> simulators become the pool's endpoints: ready pods, or endpoints-file lines.</summary>
    private void ShowEndpoints(int count)
    {
        if (_api is not null)
        {
            for (var i = 0; i < count; i++)
            {
                _api.Apply(PodJson(i, ready: true));
            }

            return;
        }

        // Written aside and renamed, so the runtime's watcher never reads half a file.
        var temporary = EndpointsFile + ".tmp";
        File.WriteAllLines(temporary, _simulatorOptions.Take(count).Select(o => $"127.0.0.1:{o.Port}"));
        File.Move(temporary, EndpointsFile, overwrite: true);
    }

    /// <summary>Simulator <paramref name="i"/>'s pod: all share 127.0.0.1, so each names its port as active.</summary>
    private string PodJson(int i, bool ready) => $$$"""
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"sim-{{{i}}}","namespace":"{{{PoolNamespace}}}","labels":{"app":"sim"},
          "annotations":{"inference.networking.k8s.io/active-ports":"{{{Invariant(_simulatorOptions[i].Port)}}}"}},
         "status":{"podIP":"127.0.0.1","conditions":[{"type":"Ready","status":"{{{(ready ? "True" : "False")}}}"}]}}
        """;

    private void WriteConfig(int prefixWeight)
    {
        var temporary = ConfigFile + ".tmp";
        File.WriteAllText(temporary, $"""
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: prefix-cache-scorer
            - type: queue-scorer
            - type: kv-cache-utilization-scorer
            - type: max-score-picker
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: prefix-cache-scorer
                weight: {prefixWeight}
              - pluginRef: queue-scorer
                weight: 1
              - pluginRef: kv-cache-utilization-scorer
                weight: 1
              - pluginRef: max-score-picker
            """);
        File.Move(temporary, ConfigFile, overwrite: true);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
