using Runtime.Host.Cli;
using Runtime.Host.Serve;
using Runtime.Plugins.Values;
using Xunit;

namespace Runtime.Host.Tests.Cli;

public class FlagSetTests
{
    [Fact]
    public void TryParse_GoStyleForms_AllAccepted()
    {
        Assert.True(ServeCommand.TryParse(
            ["-grpc-port", "7002", "--grpc-health-port=7003", "--secure-serving=false", "-v=3", "--drain-timeout", "1m30s"],
            out var options, out var errors, out _), string.Join("; ", errors));
        Assert.Equal(7002, options.GrpcPort);
        Assert.Equal(7003, options.GrpcHealthPort);
        Assert.False(options.SecureServing);
        Assert.Equal(3, options.Logging.Verbosity);
        Assert.Equal(TimeSpan.FromSeconds(90), options.Grpc.ShutdownGracePeriod);
    }

    [Fact]
    public void TryParse_BareBoolFlag_MeansTrueAndDoesNotEatNextArgument()
    {
        Assert.True(ServeCommand.TryParse(["--secure-serving", "--grpc-port", "1"], out var options, out _, out _));
        Assert.True(options.SecureServing);
        Assert.Equal(1, options.GrpcPort);
    }

    [Fact]
    public void TryParse_SeveralProblems_ReportsEveryOne()
    {
        Assert.False(ServeCommand.TryParse(
            ["--no-such-flag=1", "--grpc-port", "abc", "--bind-address", "not-an-ip", "--default-request-body-mode", "SIDEWAYS", "--metrics-port"],
            out _, out var errors, out _));
        Assert.Contains("flag provided but not defined: -no-such-flag", errors);
        Assert.Contains("invalid value \"abc\" for flag -grpc-port", errors);
        Assert.Contains(errors, e => e.StartsWith("invalid value \"not-an-ip\" for flag -bind-address", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("invalid value \"SIDEWAYS\" for flag -default-request-body-mode", StringComparison.Ordinal));
        Assert.Contains("flag needs an argument: -metrics-port", errors);
        Assert.Equal(5, errors.Count);
    }

    [Fact]
    public void TryParse_FlagWithoutEffectHere_AcceptedAndSaidSo()
    {
        Assert.True(ServeCommand.TryParse(["--pool-name", "vllm-llama3", "--pool-namespace=default", "--enable-pprof=true"], out var options, out _, out var usage));
        Assert.Equal("vllm-llama3", options.PoolName);
        Assert.Equal("default", options.PoolNamespace);
        var note = Assert.Single(options.FlagNotes);
        Assert.StartsWith("Flag --enable-pprof, here: no effect", note, StringComparison.Ordinal);
        Assert.Contains("no effect: pprof is Go's profiler", usage, StringComparison.Ordinal);
    }

    /// <summary>
    /// The container args the GIE v1.5.0 inferencepool chart renders with replicas: 2
    /// (config/charts/epplib/templates/_deployment.yaml@v1.5.0): bare booleans, `--v "1"`, `--tracing=false`.
    /// </summary>
    [Fact]
    public void TryParse_HelmChartArgs_AcceptedWithGoMeaning()
    {
        Assert.True(ServeCommand.TryParse(
            ["--pool-name", "vllm-llama3", "--pool-namespace", "team-a", "--pool-group", "inference.networking.k8s.io",
             "--zap-encoder", "json", "--config-file", "/config/default-plugins.yaml", "--ha-enable-leader-election",
             "--v", "1", "--tracing=false", "--metrics-endpoint-auth=false"],
            out var options, out var errors, out _), string.Join("; ", errors));
        Assert.True(options.LeaderElection);
        Assert.True(options.Logging.Json);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Information, options.Logging.MinimumLevel);
        Assert.Equal("/config/default-plugins.yaml", options.ConfigFile);
    }

    [Fact]
    public void TryParse_Defaults_AreTheGoEndpointPickers()
    {
        Assert.True(ServeCommand.TryParse([], out var options, out _, out var usage));
        Assert.Equal((9002, 9003, 9090, true), (options.GrpcPort, options.GrpcHealthPort, options.MetricsPort, options.SecureServing));
        Assert.Equal(2, options.Logging.Verbosity);
        Assert.Equal(TimeSpan.FromSeconds(2), options.MetricsStalenessThreshold);
        Assert.False(options.LeaderElection || options.DisableEndpointSubsetFilter || options.EnableCertReload || options.HealthCheckingOnExtProcPort);

        // Every flag of GIE v1.5.0 cmd/epp and llm-d v0.10's EPP is listed by --help.
        string[] upstream =
        [
            "grpc-port", "ha-enable-leader-election", "pool-group", "pool-namespace", "pool-name", "endpoint-selector",
            "endpoint-target-ports", "disable-endpoint-subset-filter", "model-server-metrics-scheme", "model-server-metrics-path",
            "model-server-metrics-port", "model-server-metrics-https-insecure-skip-verify", "refresh-metrics-interval",
            "refresh-prometheus-metrics-interval", "metrics-staleness-threshold", "total-queued-requests-metric",
            "total-running-requests-metric", "kv-cache-usage-percentage-metric", "lora-info-metric", "cache-info-metric", "v",
            "zap-devel", "zap-encoder", "zap-log-level", "zap-stacktrace-level", "zap-time-encoding", "tracing", "health-checking",
            "metrics-port", "grpc-health-port", "enable-pprof", "cert-path", "enable-cert-reload", "secure-serving",
            "metrics-endpoint-auth", "config-file", "config-text", "drain-timeout", "grpc-max-recv-msg-size", "grpc-max-send-msg-size",
            "emit-endpoint-scores", "enable-grpc-stream-metrics", "tls-min-version", "tls-cipher-suites", "metrics-client-ca-file",
            "metrics-cert-dir", "allow-experimental-plugins",
        ];
        Assert.All(upstream, flag => Assert.Contains($"  --{flag}", usage, StringComparison.Ordinal));
    }

    [Fact]
    public void TryParse_DeprecatedMetricFlags_AppliedWithDeprecationNotice()
    {
        Assert.True(ServeCommand.TryParse(
            ["--total-queued-requests-metric=\"sglang:num_queue_reqs\"", "--kv-cache-usage-percentage-metric", "sglang:token_usage", "--model-server-metrics-port", "9400"],
            out var options, out var errors, out _), string.Join("; ", errors));
        Assert.Equal("\"sglang:num_queue_reqs\"", options.MetricNameFlags["total-queued-requests-metric"]);
        Assert.Equal("sglang:token_usage", options.MetricNameFlags["kv-cache-usage-percentage-metric"]);
        Assert.Equal(9400, options.ModelServerMetricsPort);
        Assert.Contains(options.FlagNotes, n => n.StartsWith("Flag --total-queued-requests-metric has been deprecated", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("10MiB", 10 * 1024 * 1024)]
    [InlineData("25MB", 25_000_000)]
    [InlineData("4Mi", 4 * 1024 * 1024)]
    [InlineData("4096", 4096)]
    public void TryParse_GrpcMaxRecvMsgSize_QuantityForms(string value, int bytes)
    {
        Assert.True(ServeCommand.TryParse(["--grpc-max-recv-msg-size", value], out var options, out _, out _));
        Assert.Equal(bytes, options.Grpc.MaxReceiveMessageSize);
    }

    [Fact]
    public void TryParse_BadSizeAndPorts_Rejected()
    {
        Assert.False(ServeCommand.TryParse(["--grpc-max-recv-msg-size=lots", "--endpoint-selector=app=x", "--endpoint-target-ports=1,2,3,4,5,6,7,8,9"], out _, out var errors, out _));
        Assert.Contains(errors, e => e.StartsWith("invalid value \"lots\" for flag -grpc-max-recv-msg-size", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("should have length from 1 to 8", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new[] { "--v", "2" }, Microsoft.Extensions.Logging.LogLevel.Information)]
    [InlineData(new[] { "--v", "3" }, Microsoft.Extensions.Logging.LogLevel.Debug)]
    [InlineData(new[] { "--v", "5" }, Microsoft.Extensions.Logging.LogLevel.Trace)]
    [InlineData(new[] { "--v", "5", "--zap-log-level", "error" }, Microsoft.Extensions.Logging.LogLevel.Error)]
    [InlineData(new[] { "--zap-log-level", "4" }, Microsoft.Extensions.Logging.LogLevel.Debug)]
    public void TryParse_LogLevels_MeanWhatGosDo(string[] args, Microsoft.Extensions.Logging.LogLevel expected)
    {
        Assert.True(ServeCommand.TryParse(args, out var options, out _, out _));
        Assert.Equal(expected, options.Logging.MinimumLevel);
    }

    /// <summary>The GIE v1.5.0 body-based-routing chart's args (config/charts/body-based-routing/templates/bbr.yaml@v1.5.0).</summary>
    [Fact]
    public void BbrTryParse_HelmChartArgs_Accepted()
    {
        Assert.True(Runtime.Host.Bbr.BbrCommand.TryParse(
            ["--streaming", "--v", "3", "--plugin", "body-field-to-header:model-extractor:{\"fieldName\":\"model\",\"headerName\":\"X-Gateway-Model-Name\"}",
             "--plugin", "base-model-to-header:base-model-mapper", "--tracing=false"],
            out var parsed, out var errors, out _), string.Join("; ", errors));
        Assert.True(parsed.Streaming);
        Assert.Equal(2, parsed.PluginFlags.Count);
        Assert.Equal((9004, 9005, 9090), (parsed.Options.GrpcPort, parsed.Options.GrpcHealthPort, parsed.Options.MetricsPort));
    }

    [Fact]
    public void BbrTryParse_MappingsDirAndKubeconfig_Exclusive()
    {
        Assert.False(Runtime.Host.Bbr.BbrCommand.TryParse(["--base-model-mappings-dir", "/m", "--kubeconfig", "/k"], out _, out var errors, out _));
        Assert.Contains("--base-model-mappings-dir and --kubeconfig are exclusive: base-model mappings come from a directory or from the Kubernetes API", errors);
    }

    [Theory]
    [InlineData("/maps", null, null, null, "Directory")]
    [InlineData(null, "/kubeconfig", null, null, "Kubernetes")]
    [InlineData(null, null, "10.96.0.1", null, "Kubernetes")]
    [InlineData(null, null, null, "/home/me/.kube/config", "Kubernetes")]
    [InlineData(null, null, null, null, "None")]
    public void BbrMappingOrigin_FromFlagsAndEnvironment(string? dir, string? kubeconfig, string? serviceHost, string? kubeconfigVariable, string expected)
    {
        var environment = new Dictionary<string, string?> { ["KUBERNETES_SERVICE_HOST"] = serviceHost, ["KUBECONFIG"] = kubeconfigVariable };

        var origin = Runtime.Host.Bbr.BaseModelConfigMapWatch.Choose(dir, kubeconfig, name => environment.GetValueOrDefault(name));

        Assert.Equal(expected, origin.ToString());
    }

    [Fact]
    public void BbrSourceOptions_NamespaceOrAllNamespaces_LabelledConfigMapsOnly()
    {
        var scoped = Runtime.Host.Bbr.BaseModelConfigMapWatch.SourceOptions("ml");
        var all = Runtime.Host.Bbr.BaseModelConfigMapWatch.SourceOptions(string.Empty);

        Assert.Equal("ml", scoped.Namespace);
        Assert.Null(all.Namespace);
        var kind = Assert.Single(all.Kinds);
        Assert.Equal(Runtime.ControlPlane.World.ResourceKind.ConfigMap, kind.Kind);
        Assert.Equal("inference.networking.k8s.io/bbr-managed=true", kind.LabelSelector);
        Assert.Empty(all.Validate());
    }

    [Fact]
    public void BbrTryParse_PortConflict_RejectedAsInGo()
    {
        Assert.False(Runtime.Host.Bbr.BbrCommand.TryParse(["--grpc-health-port", "9004"], out _, out var errors, out _));
        Assert.Contains("port conflict: grpc-port (9004), grpc-health-port (9004), and metrics-port (9090) must all be different", errors);
    }

    [Theory]
    [InlineData("--pool-name=p", "--endpoints=10.0.0.1:8000", "static endpoint lists")]
    [InlineData("--pool-name=p", "--endpoint-selector=app=x", "exclusive")]
    [InlineData("--endpoint-selector=app=x", "--v=1", "go together")]
    [InlineData("--manifests-dir=/tmp/x", "--v=1", "needs --pool-name")]
    [InlineData("--pool-name=p", "--objective=premium=10", "for static endpoints")]
    public void TryParse_ConflictingControlPlaneFlags_Rejected(string first, string second, string expected)
    {
        Assert.False(ServeCommand.TryParse([first, second], out _, out var errors, out _));
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("50ms", 50)]
    [InlineData("1m30s", 90_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("0", 0)]
    public void GoDuration_TryParse_GoFormats(string text, long ms)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(ms, (long)value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("5 s")]
    [InlineData("3d")]
    public void GoDuration_TryParse_Invalid(string text) => Assert.False(GoDuration.TryParse(text, out _));
}
