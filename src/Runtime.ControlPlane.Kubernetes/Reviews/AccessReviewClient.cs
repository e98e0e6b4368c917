using System.Buffers;
using System.Net.Http;
using System.Text.Json;
using Runtime.ControlPlane.Kubernetes.Api;

namespace Runtime.ControlPlane.Kubernetes.Reviews;

/// <summary>Who a bearer token belongs to, as the API server's TokenReview names them.</summary>
internal sealed record ReviewedUser(string Name, string Uid, IReadOnlyList<string> Groups, IReadOnlyList<KeyValuePair<string, string[]>> Extra);

/// <summary>A TokenReview's answer: the user, or (not authenticated) the review's error text, possibly empty.</summary>
internal readonly record struct TokenReviewResult(ReviewedUser? User, string Error);

/// <summary>A SubjectAccessReview's answer.</summary>
internal readonly record struct AccessReviewResult(bool Allowed, bool Denied, string Reason);

/// <summary>
/// Creates <c>authentication.k8s.io/v1</c> TokenReviews and <c>authorization.k8s.io/v1</c>
/// SubjectAccessReviews, retrying transient failures with the back-off k8s.io/apiserver's webhook
/// clients use (500 ms, ×1.5, 20 % jitter, 5 tries) within an overall timeout.
/// </summary>
internal sealed class AccessReviewClient(KubernetesApiClient api, DelegatedAuthOptions options, TimeProvider time)
{
    public const string TokenReviewPath = "/apis/authentication.k8s.io/v1/tokenreviews";
    public const string SubjectAccessReviewPath = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

    public async Task<TokenReviewResult> ReviewTokenAsync(string token, CancellationToken cancellationToken)
    {
        var body = Json(writer =>
        {
            writer.WriteString("apiVersion", "authentication.k8s.io/v1");
            writer.WriteString("kind", "TokenReview");
            writer.WriteStartObject("spec");
            writer.WriteString("token", token);
            writer.WriteEndObject();
        });
        using var answer = await PostAsync(TokenReviewPath, body, cancellationToken).ConfigureAwait(false);
        var status = Property(answer.RootElement, "status");
        if (!Bool(status, "authenticated"))
        {
            return new TokenReviewResult(null, String(status, "error"));
        }

        var user = Property(status, "user");
        var groups = Property(user, "groups") is { ValueKind: JsonValueKind.Array } g
            ? g.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : [];
        var extra = new List<KeyValuePair<string, string[]>>();
        if (Property(user, "extra") is { ValueKind: JsonValueKind.Object } values)
        {
            foreach (var entry in values.EnumerateObject())
            {
                var list = entry.Value.ValueKind == JsonValueKind.Array
                    ? entry.Value.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToArray()
                    : [];
                extra.Add(new(entry.Name, list));
            }
        }

        return new TokenReviewResult(new ReviewedUser(String(user, "username"), String(user, "uid"), groups, extra), string.Empty);
    }

    /// <summary>May <paramref name="user"/> use <paramref name="verb"/> on the non-resource URL <paramref name="path"/>?</summary>
    public async Task<AccessReviewResult> ReviewAccessAsync(ReviewedUser user, string verb, string path, CancellationToken cancellationToken)
    {
        using var answer = await PostAsync(SubjectAccessReviewPath, AccessReviewBody(user, verb, path), cancellationToken).ConfigureAwait(false);
        var status = Property(answer.RootElement, "status");
        return new AccessReviewResult(Bool(status, "allowed"), Bool(status, "denied"), String(status, "reason"));
    }

    /// <summary>The SubjectAccessReview's JSON; its bytes also key the decision cache, as the Go webhook authorizer keys on its spec.</summary>
    public static byte[] AccessReviewBody(ReviewedUser user, string verb, string path) => Json(writer =>
    {
        writer.WriteString("apiVersion", "authorization.k8s.io/v1");
        writer.WriteString("kind", "SubjectAccessReview");
        writer.WriteStartObject("spec");
        writer.WriteStartObject("nonResourceAttributes");
        writer.WriteString("path", path);
        writer.WriteString("verb", verb);
        writer.WriteEndObject();
        writer.WriteString("user", user.Name);
        if (user.Uid.Length > 0)
        {
            writer.WriteString("uid", user.Uid);
        }

        writer.WriteStartArray("groups");
        foreach (var group in user.Groups)
        {
            writer.WriteStringValue(group);
        }

        writer.WriteEndArray();
        if (user.Extra.Count > 0)
        {
            writer.WriteStartObject("extra");
            foreach (var (key, values) in user.Extra)
            {
                writer.WriteStartArray(key);
                foreach (var value in values)
                {
                    writer.WriteStringValue(value);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    });

    private async Task<JsonDocument> PostAsync(string path, byte[] body, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ReviewTimeout);
        var delay = options.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                try
                {
                    return await api.PostJsonAsync(path, body, deadline.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (attempt < options.RetryAttempts && IsTransient(ex) && !deadline.IsCancellationRequested)
                {
                    // Retried below, after the back-off.
                }

                await Task.Delay(delay * (1 + (0.2 * Random.Shared.NextDouble())), time, deadline.Token).ConfigureAwait(false);
                delay *= 1.5;
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"the API server did not answer within {options.ReviewTimeout.TotalSeconds:0.#} s", ex);
            }
        }
    }

    /// <summary>What k8s.io/apiserver's webhook clients retry: broken connections, 429, and the 5xx of an overloaded server.</summary>
    private static bool IsTransient(Exception ex) => ex switch
    {
        HttpRequestException => true,
        KubernetesApiException api => api.StatusCode is 429 or 500 or 503 or 504,
        _ => false,
    };

    private static byte[] Json(Action<Utf8JsonWriter> writeProperties)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static JsonElement Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static bool Bool(JsonElement element, string name) => Property(element, name).ValueKind == JsonValueKind.True;

    private static string String(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString()! : string.Empty;
}
