using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Runtime.Simulation.Tests.Support;

/// <summary>HTTP helpers for talking to simulated servers the way a gateway and a scraper would.</summary>
public static class SimulatorHttp
{
    public static HttpClient CreateClient(ModelServerSimulator server) => new() { BaseAddress = server.BaseAddress };

    public static async Task<PrometheusText> ScrapeAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/metrics");
        response.EnsureSuccessStatusCode();
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds, failing after five seconds.</summary>
    public static async Task<PrometheusText> ScrapeUntilAsync(HttpClient client, Func<PrometheusText, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var page = await ScrapeAsync(client);
            if (condition(page))
            {
                return page;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "Metrics did not reach the expected values in time.");
            await Task.Delay(20);
        }
    }

    public static Task<HttpResponseMessage> PostChatAsync(
        HttpClient client,
        string model,
        string content = "Hello there, how are you?",
        int? maxTokens = null,
        bool stream = false,
        CancellationToken cancellationToken = default)
    {
        var body = new Dictionary<string, object>
        {
            ["model"] = model,
            ["messages"] = new[] { new { role = "user", content } },
        };
        if (maxTokens is { } max)
        {
            body["max_tokens"] = max;
        }

        if (stream)
        {
            body["stream"] = true;
            body["stream_options"] = new { include_usage = true };
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(body) };
        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    public static Task<HttpResponseMessage> PostRawAsync(HttpClient client, string path, string json) =>
        client.PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
