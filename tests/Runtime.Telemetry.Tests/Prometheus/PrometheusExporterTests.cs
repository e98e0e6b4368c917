using System.Diagnostics.Metrics;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Telemetry.Tests.Prometheus;

public sealed class PrometheusExporterTests
{
    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);

    private static (Meter Meter, PrometheusExporter Exporter) Create(PrometheusExporterOptions? options = null)
    {
        var name = "Runtime.Test." + Guid.NewGuid().ToString("N");
        var meter = new Meter(name);
        var exporter = new PrometheusExporter((options ?? new PrometheusExporterOptions()) with { MeterFilter = m => m.Name == name });
        return (meter, exporter);
    }

    [Fact]
    public void Render_CounterWithLabels_SumsPerLabelSetSortedByLabels()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        var counter = meter.CreateCounter<long>("inference_objective_request_total", description: "Requests.");
        counter.Add(2, Tag("model_name", "b"), Tag("target_model_name", "b1"));
        counter.Add(1, Tag("model_name", "a"), Tag("target_model_name", "a1"));
        counter.Add(3, Tag("target_model_name", "b1"), Tag("model_name", "b"));

        Assert.Equal(
            "# HELP inference_objective_request_total Requests.\n" +
            "# TYPE inference_objective_request_total counter\n" +
            "inference_objective_request_total{model_name=\"a\",target_model_name=\"a1\"} 1\n" +
            "inference_objective_request_total{model_name=\"b\",target_model_name=\"b1\"} 5\n",
            exporter.Render());
    }

    [Fact]
    public void Render_UpDownCounterAndDoubleCounter_GaugeAndFractionalSum()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        var running = meter.CreateUpDownCounter<long>("running", description: "Running.");
        var seconds = meter.CreateCounter<double>("busy_seconds_total", description: "Busy.");
        running.Add(3, Tag("model_name", "m"));
        running.Add(-1, Tag("model_name", "m"));
        seconds.Add(0.25);
        seconds.Add(0.5);

        Assert.Equal(
            "# HELP busy_seconds_total Busy.\n" +
            "# TYPE busy_seconds_total counter\n" +
            "busy_seconds_total 0.75\n" +
            "# HELP running Running.\n" +
            "# TYPE running gauge\n" +
            "running{model_name=\"m\"} 2\n",
            exporter.Render());
    }

    [Fact]
    public void Render_Histogram_CumulativeBucketsInfSumAndCount()
    {
        var (meter, exporter) = Create(new PrometheusExporterOptions { HistogramBuckets = _ => [0.1, 1] });
        using var _ = meter;
        using var __ = exporter;
        var histogram = meter.CreateHistogram<double>("latency_seconds", "s", "Latency.");
        histogram.Record(0.05, Tag("model_name", "m"));
        histogram.Record(0.1, Tag("model_name", "m"));
        histogram.Record(0.5, Tag("model_name", "m"));
        histogram.Record(7, Tag("model_name", "m"));

        Assert.Equal(
            "# HELP latency_seconds Latency.\n" +
            "# TYPE latency_seconds histogram\n" +
            "latency_seconds_bucket{model_name=\"m\",le=\"0.1\"} 2\n" +
            "latency_seconds_bucket{model_name=\"m\",le=\"1\"} 3\n" +
            "latency_seconds_bucket{model_name=\"m\",le=\"+Inf\"} 4\n" +
            "latency_seconds_sum{model_name=\"m\"} 7.65\n" +
            "latency_seconds_count{model_name=\"m\"} 4\n",
            exporter.Render());
    }

    [Fact]
    public void Render_HistogramWithoutLabels_LeIsTheOnlyLabel()
    {
        var (meter, exporter) = Create(new PrometheusExporterOptions { HistogramBuckets = _ => [1] });
        using var _ = meter;
        using var __ = exporter;
        meter.CreateHistogram<long>("tokens").Record(3);

        Assert.Equal(
            "# HELP tokens \n" +
            "# TYPE tokens histogram\n" +
            "tokens_bucket{le=\"1\"} 0\n" +
            "tokens_bucket{le=\"+Inf\"} 1\n" +
            "tokens_sum 3\n" +
            "tokens_count 1\n",
            exporter.Render());
    }

    [Fact]
    public void Render_DefaultBuckets_FollowGieByNameAndUnit()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        meter.CreateHistogram<long>("inference_objective_input_tokens").Record(10);
        meter.CreateHistogram<double>("inference_extension_scheduler_e2e_duration_seconds", "s").Record(0.001);
        meter.CreateHistogram<double>("inference_objective_request_duration_seconds", "s").Record(2);

        var page = exporter.Render();

        Assert.Contains("inference_objective_input_tokens_bucket{le=\"32778\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_extension_scheduler_e2e_duration_seconds_bucket{le=\"0.0001\"} 0\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_extension_scheduler_e2e_duration_seconds_bucket{le=\"0.001\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_objective_request_duration_seconds_bucket{le=\"3600\"} 1\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ObservableInstruments_CollectedOnEachScrape()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        long scrapes = 0;
        meter.CreateObservableCounter("scrape_total", () => ++scrapes, description: "Scrapes.");
        meter.CreateObservableGauge("queue", () => new[]
        {
            new Measurement<int>(4, Tag("reason", "x")),
            new Measurement<int>(1, Tag("reason", "a")),
        }, description: "Queue.");

        exporter.Render();
        var page = exporter.Render();

        Assert.Equal(
            "# HELP queue Queue.\n" +
            "# TYPE queue gauge\n" +
            "queue{reason=\"a\"} 1\n" +
            "queue{reason=\"x\"} 4\n" +
            "# HELP scrape_total Scrapes.\n" +
            "# TYPE scrape_total counter\n" +
            "scrape_total 2\n",
            page);
    }

    [Fact]
    public void Render_LabelValuesAndHelp_AreEscaped()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        meter.CreateCounter<long>("escaped_total", description: "Back\\slash and\nnewline \"quoted\".")
            .Add(1, Tag("model", "a\\b\"c\nd"), Tag("bad-name.x", 7));

        Assert.Equal(
            "# HELP escaped_total Back\\\\slash and\\nnewline \"quoted\".\n" +
            "# TYPE escaped_total counter\n" +
            "escaped_total{bad_name_x=\"7\",model=\"a\\\\b\\\"c\\nd\"} 1\n",
            exporter.Render());
    }

    [Fact]
    public void Render_InstrumentCreatedAfterStart_IsPickedUp()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        Assert.Equal(string.Empty, exporter.Render());

        meter.CreateCounter<long>("late_total").Add(4);

        Assert.Contains("late_total 4\n", exporter.Render(), StringComparison.Ordinal);
    }

    [Fact]
    public void Render_DisposedMeter_Vanishes()
    {
        var (meter, exporter) = Create();
        using var __ = exporter;
        meter.CreateCounter<long>("gone_total").Add(1);
        meter.CreateObservableGauge("gone_gauge", () => 1);
        Assert.Contains("gone_total 1\n", exporter.Render(), StringComparison.Ordinal);

        meter.Dispose();

        Assert.Equal(string.Empty, exporter.Render());
    }

    [Fact]
    public void Render_TwoMetersOfTheSameName_OneFamilySummed()
    {
        var name = "Runtime.Test." + Guid.NewGuid().ToString("N");
        using var first = new Meter(name);
        using var second = new Meter(name);
        using var exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = m => m.Name == name });
        first.CreateCounter<long>("twice_total", description: "Twice.").Add(1, Tag("k", "v"));
        second.CreateCounter<long>("twice_total", description: "Twice.").Add(2, Tag("k", "v"));

        Assert.Equal(
            "# HELP twice_total Twice.\n# TYPE twice_total counter\ntwice_total{k=\"v\"} 3\n",
            exporter.Render());
    }

    [Fact]
    public async Task Render_ManyThreadsRecording_TotalsExact()
    {
        var (meter, exporter) = Create(new PrometheusExporterOptions { HistogramBuckets = _ => [0.5] });
        using var _ = meter;
        using var __ = exporter;
        var counter = meter.CreateCounter<long>("hits_total");
        var sum = meter.CreateCounter<double>("weight_total");
        var histogram = meter.CreateHistogram<double>("size");
        const int Threads = 8;
        const int PerThread = 20_000;
        var scrapes = 0;
        using var done = new CancellationTokenSource();
        var scraper = Task.Run(() =>
        {
            // Scrapes race the writers: a render must never lose or double a measurement.
            do
            {
                exporter.Render();
                scrapes++;
            }
            while (!done.IsCancellationRequested);
        });

        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                var label = (i % 4).ToString(System.Globalization.CultureInfo.InvariantCulture);
                counter.Add(1, Tag("shard", label));
                sum.Add(0.5, Tag("shard", label));
                histogram.Record(t % 2 == 0 ? 0.25 : 1, Tag("shard", label));
            }
        });
        done.Cancel();
        await scraper;

        var page = exporter.Render();
        const int PerShard = Threads * PerThread / 4;
        for (var shard = 0; shard < 4; shard++)
        {
            Assert.Contains($"hits_total{{shard=\"{shard}\"}} {PerShard}\n", page, StringComparison.Ordinal);
            Assert.Contains($"weight_total{{shard=\"{shard}\"}} {PerShard / 2}\n", page, StringComparison.Ordinal);
            Assert.Contains($"size_bucket{{shard=\"{shard}\",le=\"0.5\"}} {PerShard / 2}\n", page, StringComparison.Ordinal);
            Assert.Contains($"size_count{{shard=\"{shard}\"}} {PerShard}\n", page, StringComparison.Ordinal);
            Assert.Contains($"size_sum{{shard=\"{shard}\"}} {PerShard / 2 * 1.25}\n", page, StringComparison.Ordinal);
        }

        Assert.True(scrapes > 0);
    }

    [Fact]
    public void AddCollector_GaugeFamily_RenderedAtScrapeAndRemovedOnDispose()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        var ready = 3;
        var registration = exporter.AddCollector("inference_pool_ready_pods", "Ready pods.", PrometheusMetricType.Gauge, w => w.Add("name", "pool", ready));
        Assert.Equal(
            "# HELP inference_pool_ready_pods Ready pods.\n# TYPE inference_pool_ready_pods gauge\ninference_pool_ready_pods{name=\"pool\"} 3\n",
            exporter.Render());
        ready = 5;
        Assert.Contains("inference_pool_ready_pods{name=\"pool\"} 5\n", exporter.Render(), StringComparison.Ordinal);

        registration.Dispose();

        Assert.Equal(string.Empty, exporter.Render());
    }

    [Fact]
    public void Render_FamiliesFromInstrumentsAndCollectors_SortedByName()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        meter.CreateCounter<long>("b_total").Add(1);
        using var a = exporter.AddCollector("a", "A.", PrometheusMetricType.Gauge, w => w.Add(double.NaN));
        using var c = exporter.AddCollector("c_total", "C.", PrometheusMetricType.Counter, w => w.Add(double.PositiveInfinity));

        Assert.Equal(
            "# HELP a A.\n# TYPE a gauge\na NaN\n" +
            "# HELP b_total \n# TYPE b_total counter\nb_total 1\n" +
            "# HELP c_total C.\n# TYPE c_total counter\nc_total +Inf\n",
            exporter.Render());
    }

    [Fact]
    public void Render_ThrowingCollector_OthersStillRender()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        using var bad = exporter.AddCollector("bad", "Bad.", PrometheusMetricType.Gauge, _ => throw new InvalidOperationException("boom"));
        using var good = exporter.AddCollector("good", "Good.", PrometheusMetricType.Gauge, w => w.Add(1));

        Assert.Equal("# HELP good Good.\n# TYPE good gauge\ngood 1\n", exporter.Render());
    }
}
