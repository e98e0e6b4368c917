using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Runtime.TestSupport.Kubernetes;

/// <summary>
/// The review APIs a delegating authenticator/authorizer calls: <c>POST
/// /apis/authentication.k8s.io/v1/tokenreviews</c> (tokens known by <see cref="AddToken"/>;
/// others are not authenticated, with the real server's error text) and <c>POST
/// /apis/authorization.k8s.io/v1/subjectaccessreviews</c> for non-resource URLs, allowed by
/// <see cref="GrantNonResource"/> rules as RBAC's nonResourceURLs rules are (a trailing <c>*</c>
/// matches a prefix, verb <c>*</c> any verb), to a user name or any of the groups.
/// </summary>
public sealed partial class FakeKubeApiServer
{
    private const string TokenReviews = "/apis/authentication.k8s.io/v1/tokenreviews";
    private const string SubjectAccessReviews = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

    private readonly Dictionary<string, (string User, string[] Groups)> _reviewTokens = new(StringComparer.Ordinal);
    private readonly List<(string Subject, string Verb, string Path)> _nonResourceGrants = [];
    private readonly List<JsonObject> _accessReviews = [];
    private int _tokenReviews;

    /// <summary>When false, creating either review is refused with 403, as without the auth-delegator ClusterRole.</summary>
    public bool ReviewsAllowed { get; set; } = true;

    /// <summary>TokenReviews created so far.</summary>
    public int TokenReviewCount => Volatile.Read(ref _tokenReviews);

    /// <summary>The specs of the SubjectAccessReviews created so far.</summary>
    public IReadOnlyList<JsonObject> AccessReviews
    {
        get
        {
            lock (_lock)
            {
                return [.. _accessReviews];
            }
        }
    }

    /// <summary>A TokenReview of <paramref name="token"/> authenticates <paramref name="user"/> in <paramref name="groups"/>.</summary>
    public void AddToken(string token, string user, params string[] groups)
    {
        lock (_lock)
        {
            _reviewTokens[token] = (user, groups);
        }
    }

    /// <summary>Lets <paramref name="subject"/> (a user or a group) use <paramref name="verb"/> on the non-resource URL <paramref name="path"/>.</summary>
    public void GrantNonResource(string subject, string verb, string path)
    {
        lock (_lock)
        {
            _nonResourceGrants.Add((subject, verb, path));
        }
    }

    private async Task<bool> TryHandleReviewAsync(HttpContext context)
    {
        var path = context.Request.Path.Value;
        if (path is not (TokenReviews or SubjectAccessReviews))
        {
            return false;
        }

        if (!ReviewsAllowed)
        {
            var resource = path == TokenReviews ? "tokenreviews" : "subjectaccessreviews";
            await WriteStatusAsync(context, 403, "Forbidden", $"{resource}.{(path == TokenReviews ? "authentication" : "authorization")}.k8s.io is forbidden: User \"system:serviceaccount:default:epp\" cannot create resource \"{resource}\" at the cluster scope").ConfigureAwait(false);
            return true;
        }

        var review = await JsonNode.ParseAsync(context.Request.Body).ConfigureAwait(false) as JsonObject;
        var spec = review?["spec"] as JsonObject;
        if (review is null || spec is null)
        {
            await WriteStatusAsync(context, 400, "BadRequest", "the review has no spec").ConfigureAwait(false);
            return true;
        }

        review["status"] = path == TokenReviews ? ReviewToken(spec) : ReviewAccess(spec);
        context.Response.StatusCode = 201;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(review.ToJsonString()).ConfigureAwait(false);
        return true;
    }

    private JsonObject ReviewToken(JsonObject spec)
    {
        Interlocked.Increment(ref _tokenReviews);
        var token = spec["token"]?.GetValue<string>() ?? string.Empty;
        lock (_lock)
        {
            if (!_reviewTokens.TryGetValue(token, out var identity))
            {
                return new JsonObject { ["user"] = new JsonObject(), ["error"] = "[invalid bearer token, token lookup failed]" };
            }

            return new JsonObject
            {
                ["authenticated"] = true,
                ["user"] = new JsonObject
                {
                    ["username"] = identity.User,
                    ["uid"] = "uid-" + identity.User,
                    ["groups"] = new JsonArray([.. identity.Groups.Select(g => (JsonNode)g)]),
                },
            };
        }
    }

    private JsonObject ReviewAccess(JsonObject spec)
    {
        var attributes = spec["nonResourceAttributes"] as JsonObject;
        var user = spec["user"]?.GetValue<string>() ?? string.Empty;
        var groups = (spec["groups"] as JsonArray)?.Select(g => g!.GetValue<string>()).ToList() ?? [];
        var verb = attributes?["verb"]?.GetValue<string>() ?? string.Empty;
        var path = attributes?["path"]?.GetValue<string>() ?? string.Empty;
        lock (_lock)
        {
            _accessReviews.Add(spec.DeepClone().AsObject());
            var allowed = attributes is not null && _nonResourceGrants.Any(g =>
                (g.Subject == user || groups.Contains(g.Subject))
                && (g.Verb == "*" || g.Verb == verb)
                && (g.Path == path || (g.Path.EndsWith('*') && path.StartsWith(g.Path[..^1], StringComparison.Ordinal))));
            return allowed
                ? new JsonObject { ["allowed"] = true, ["reason"] = "RBAC: allowed by a test grant" }
                : new JsonObject { ["allowed"] = false };
        }
    }
}
