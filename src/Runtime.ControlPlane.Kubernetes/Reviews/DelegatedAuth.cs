using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.Kubernetes.Api;

namespace Runtime.ControlPlane.Kubernetes.Reviews;

/// <summary>How long answers are kept, and how reviews are retried (controller-runtime's values by default).</summary>
internal sealed record DelegatedAuthOptions
{
    /// <summary>A token's TokenReview answer (authenticated or not, without error) is reused this long.</summary>
    public TimeSpan TokenCacheTtl { get; init; } = TimeSpan.FromMinutes(1);

    public TimeSpan AllowCacheTtl { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan DenyCacheTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Each review, retries included, gives up after this long.</summary>
    public TimeSpan ReviewTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public int RetryAttempts { get; init; } = 5;
}

/// <summary>What to answer: 200 serves the request; otherwise the status and the plain-text message.</summary>
internal readonly record struct DelegatedAuthResult(int StatusCode, string Message)
{
    public bool IsAllowed => StatusCode == 200;
}

/// <summary>
/// Authentication and authorization of an HTTP request delegated to the API server, with the
/// semantics of controller-runtime's <c>filters.WithAuthenticationAndAuthorization</c> (v0.23, the
/// one GIE v1.5.0 and llm-d serve <c>/metrics</c> behind): the <c>Authorization: Bearer</c> token
/// is checked with a TokenReview, the user it names with a SubjectAccessReview of the request's
/// path and lower-cased method as a non-resource URL. No usable bearer token → 401
/// "Unauthorized"; a token the review rejects, or a review that fails → 500 "Authentication
/// failed" (k8s.io/apiserver's bearer-token authenticator reports a rejected token as an error,
/// which the filter answers with 500); not allowed → 403 "Authorization denied for user X".
/// Answers are cached as controller-runtime configures it: tokens 1 min, allowed 5 min, denied 30 s.
/// </summary>
internal sealed partial class DelegatedAuth : IDisposable
{
    private const string AllAuthenticated = "system:authenticated";
    private const string AllUnauthenticated = "system:unauthenticated";
    private const string Anonymous = "system:anonymous";

    private readonly KubernetesApiClient _api;
    private readonly AccessReviewClient _reviews;
    private readonly DelegatedAuthOptions _options;
    private readonly ILogger _logger;
    private readonly ExpiringCache<ReviewedUser?> _tokens;
    private readonly ExpiringCache<AccessReviewResult> _decisions;

    public DelegatedAuth(KubernetesAccess access, ILogger logger, DelegatedAuthOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(access);
        time ??= TimeProvider.System;
        _options = options ?? new DelegatedAuthOptions();
        _logger = logger;
        _api = new KubernetesApiClient(access, time);
        _reviews = new AccessReviewClient(_api, _options, time);
        _tokens = new ExpiringCache<ReviewedUser?>(time);
        _decisions = new ExpiringCache<AccessReviewResult>(time);
    }

    /// <summary>Reviews one request: its <c>Authorization</c> header (null when absent), method and path.</summary>
    public async Task<DelegatedAuthResult> CheckAsync(string? authorization, string method, string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(method);
        var token = BearerToken(authorization);
        if (token is null)
        {
            Log.Unauthenticated(_logger, path);
            return new DelegatedAuthResult(401, "Unauthorized");
        }

        ReviewedUser? user;
        try
        {
            user = await AuthenticateAsync(token, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsReviewFailure(ex))
        {
            Log.AuthenticationFailed(_logger, path, ex.Message);
            return new DelegatedAuthResult(500, "Authentication failed");
        }

        if (user is null)
        {
            return new DelegatedAuthResult(500, "Authentication failed");
        }

        AccessReviewResult decision;
        try
        {
            decision = await AuthorizeAsync(user, method.ToLowerInvariant(), path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsReviewFailure(ex))
        {
            Log.AuthorizationFailed(_logger, user.Name, path, ex.Message);
            return new DelegatedAuthResult(500, $"Authorization for user {user.Name} failed");
        }

        if (!decision.Allowed)
        {
            Log.Denied(_logger, user.Name, path, decision.Reason);
            return new DelegatedAuthResult(403, $"Authorization denied for user {user.Name}");
        }

        return new DelegatedAuthResult(200, string.Empty);
    }

    public void Dispose() => _api.Dispose();

    /// <summary>The token of <c>Bearer &lt;token&gt;</c> (scheme case-insensitive), or null when there is none.</summary>
    internal static string? BearerToken(string? authorization)
    {
        var parts = (authorization ?? string.Empty).Trim().Split(' ', 3);
        return parts.Length >= 2 && parts[0].Equals("bearer", StringComparison.OrdinalIgnoreCase) && parts[1].Length > 0 ? parts[1] : null;
    }

    /// <summary>The user, or null when the token is rejected (logged with the review's reason).</summary>
    private async Task<ReviewedUser?> AuthenticateAsync(string token, CancellationToken cancellationToken)
    {
        // Keyed by a hash: the cache never holds a usable token.
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (!_tokens.TryGet(key, out var user))
        {
            var review = await _reviews.ReviewTokenAsync(token, cancellationToken).ConfigureAwait(false);
            user = review.User is { } reviewed ? WithAuthenticatedGroup(reviewed) : null;
            if (user is not null || review.Error.Length == 0)
            {
                // As the Go token cache: answers are kept, errors are not.
                _tokens.Set(key, user, _options.TokenCacheTtl);
            }

            if (user is null)
            {
                Log.TokenRejected(_logger, review.Error.Length > 0 ? review.Error : "invalid bearer token");
            }
        }
        else if (user is null)
        {
            Log.TokenRejected(_logger, "invalid bearer token (cached)");
        }

        return user;
    }

    private async Task<AccessReviewResult> AuthorizeAsync(ReviewedUser user, string verb, string path, CancellationToken cancellationToken)
    {
        var key = Encoding.UTF8.GetString(AccessReviewClient.AccessReviewBody(user, verb, path));
        if (_decisions.TryGet(key, out var cached))
        {
            return cached;
        }

        var decision = await _reviews.ReviewAccessAsync(user, verb, path, cancellationToken).ConfigureAwait(false);
        if (decision.Allowed && decision.Denied)
        {
            throw new InvalidDataException("the SubjectAccessReview answered both allowed and denied");
        }

        _decisions.Set(key, decision, decision.Allowed ? _options.AllowCacheTtl : _options.DenyCacheTtl);
        return decision;
    }

    /// <summary>Every authenticated user is also in <c>system:authenticated</c> (k8s.io/apiserver's AuthenticatedGroupAdder).</summary>
    private static ReviewedUser WithAuthenticatedGroup(ReviewedUser user) =>
        user.Name == Anonymous || user.Groups.Any(g => g is AllAuthenticated or AllUnauthenticated)
            ? user
            : user with { Groups = [.. user.Groups, AllAuthenticated] };

    private static bool IsReviewFailure(Exception ex) =>
        ex is KubernetesApiException or HttpRequestException or TimeoutException or JsonException or InvalidDataException or KubernetesConfigException;

    private static partial class Log
    {
        [LoggerMessage(5121, LogLevel.Debug, "Metrics request to {Path} refused (401): no bearer token")]
        public static partial void Unauthenticated(ILogger logger, string path);

        [LoggerMessage(5122, LogLevel.Error, "Authentication failed for a request to {Path}: the TokenReview could not be made: {Error}")]
        public static partial void AuthenticationFailed(ILogger logger, string path, string error);

        [LoggerMessage(5123, LogLevel.Error, "Authentication failed: the TokenReview rejected the bearer token: {Error}")]
        public static partial void TokenRejected(ILogger logger, string error);

        [LoggerMessage(5124, LogLevel.Error, "Authorization for user {User} to {Path} failed: the SubjectAccessReview could not be made: {Error}")]
        public static partial void AuthorizationFailed(ILogger logger, string user, string path, string error);

        [LoggerMessage(5125, LogLevel.Debug, "Authorization denied for user {User} to {Path}: {Reason}")]
        public static partial void Denied(ILogger logger, string user, string path, string reason);
    }
}
