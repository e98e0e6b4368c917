using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.Kubernetes.Reviews;
using Runtime.TestSupport.Hosting;
using Runtime.TestSupport.Kubernetes;

namespace Runtime.ControlPlane.Kubernetes.Tests.Reviews;

/// <summary>
/// <see cref="DelegatedAuth"/> against the fake API server's TokenReview and SubjectAccessReview:
/// the status codes and messages of controller-runtime's metrics filter, and its caching.
/// </summary>
public sealed class DelegatedAuthTests : IAsyncLifetime
{
    private const string OwnToken = "runtime-sa-token";
    private FakeKubeApiServer _api = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubeApiServer.StartAsync();
        _api.RequiredToken = OwnToken;
        _api.AddToken("prometheus-token", "system:serviceaccount:monitoring:prometheus", "system:serviceaccounts");
        _api.AddToken("intruder-token", "system:serviceaccount:default:intruder");
        _api.GrantNonResource("system:serviceaccount:monitoring:prometheus", "get", "/metrics");
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    [InlineData("Bearer  prometheus-token")]
    public async Task CheckAsync_NoUsableBearerToken_401WithoutAReview(string? authorization)
    {
        using var auth = Create();

        var result = await auth.CheckAsync(authorization, "GET", "/metrics", default);

        Assert.Equal(new DelegatedAuthResult(401, "Unauthorized"), result);
        Assert.Equal(0, _api.TokenReviewCount);
    }

    [Fact]
    public async Task CheckAsync_TokenTheReviewRejects_500AuthenticationFailedAsGoAnswers()
    {
        using var auth = Create();

        var result = await auth.CheckAsync("Bearer not-a-token", "GET", "/metrics", default);

        Assert.Equal(new DelegatedAuthResult(500, "Authentication failed"), result);
        Assert.Empty(_api.AccessReviews);
    }

    [Fact]
    public async Task CheckAsync_RejectedTokenWithReviewError_NotCachedSoEachRequestAsksAgain()
    {
        using var auth = Create();

        await auth.CheckAsync("Bearer not-a-token", "GET", "/metrics", default);
        await auth.CheckAsync("Bearer not-a-token", "GET", "/metrics", default);

        Assert.Equal(2, _api.TokenReviewCount);
    }

    [Fact]
    public async Task CheckAsync_AuthenticatedButNotGranted_403NamingTheUser()
    {
        using var auth = Create();

        var result = await auth.CheckAsync("Bearer intruder-token", "GET", "/metrics", default);

        Assert.Equal(new DelegatedAuthResult(403, "Authorization denied for user system:serviceaccount:default:intruder"), result);
    }

    [Fact]
    public async Task CheckAsync_Granted_AllowedAfterANonResourceReviewOfPathAndLowerCasedVerb()
    {
        using var auth = Create();

        var result = await auth.CheckAsync("bearer prometheus-token", "GET", "/metrics", default);

        Assert.True(result.IsAllowed, result.ToString());
        var spec = Assert.Single(_api.AccessReviews);
        Assert.Equal("system:serviceaccount:monitoring:prometheus", spec["user"]!.GetValue<string>());
        Assert.Equal("uid-system:serviceaccount:monitoring:prometheus", spec["uid"]!.GetValue<string>());
        Assert.Equal(["system:serviceaccounts", "system:authenticated"], spec["groups"]!.AsArray().Select(g => g!.GetValue<string>()));
        Assert.Equal("/metrics", spec["nonResourceAttributes"]!["path"]!.GetValue<string>());
        Assert.Equal("get", spec["nonResourceAttributes"]!["verb"]!.GetValue<string>());
    }

    [Fact]
    public async Task CheckAsync_GrantToAGroup_AllowsItsMembers()
    {
        _api.GrantNonResource("system:authenticated", "get", "/metrics");
        using var auth = Create();

        Assert.True((await auth.CheckAsync("Bearer intruder-token", "GET", "/metrics", default)).IsAllowed);
    }

    [Fact]
    public async Task CheckAsync_OtherMethodOrPath_ReviewedAsSuchAndDenied()
    {
        using var auth = Create();

        Assert.Equal(403, (await auth.CheckAsync("Bearer prometheus-token", "POST", "/metrics", default)).StatusCode);
        Assert.Equal(403, (await auth.CheckAsync("Bearer prometheus-token", "GET", "/debug/pprof/heap", default)).StatusCode);
        Assert.Equal([("post", "/metrics"), ("get", "/debug/pprof/heap")], _api.AccessReviews.Select(s => (s["nonResourceAttributes"]!["verb"]!.GetValue<string>(), s["nonResourceAttributes"]!["path"]!.GetValue<string>())));
    }

    [Fact]
    public async Task CheckAsync_AllowedAnswer_CachedForFiveMinutesAndTokenForOne()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var auth = Create(time);

        await auth.CheckAsync("Bearer prometheus-token", "GET", "/metrics", default);
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.True((await auth.CheckAsync("Bearer prometheus-token", "GET", "/metrics", default)).IsAllowed);
        Assert.Equal((1, 1), (_api.TokenReviewCount, _api.AccessReviews.Count));

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.True((await auth.CheckAsync("Bearer prometheus-token", "GET", "/metrics", default)).IsAllowed);
        Assert.Equal((2, 1), (_api.TokenReviewCount, _api.AccessReviews.Count));

        time.Advance(TimeSpan.FromMinutes(5));
        await auth.CheckAsync("Bearer prometheus-token", "GET", "/metrics", default);
        Assert.Equal((3, 2), (_api.TokenReviewCount, _api.AccessReviews.Count));
    }

    [Fact]
    public async Task CheckAsync_DeniedAnswer_CachedForThirtySecondsThenAskedAgain()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var auth = Create(time);
        Assert.Equal(403, (await auth.CheckAsync("Bearer intruder-token", "GET", "/metrics", default)).StatusCode);

        _api.GrantNonResource("system:serviceaccount:default:intruder", "get", "/metrics");
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(403, (await auth.CheckAsync("Bearer intruder-token", "GET", "/metrics", default)).StatusCode);

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.True((await auth.CheckAsync("Bearer intruder-token", "GET", "/metrics", default)).IsAllowed);
    }

    [Fact]
    public async Task CheckAsync_ReviewsForbiddenToTheRuntime_500AuthenticationFailed()
    {
        _api.ReviewsAllowed = false;
        using var auth = Create();

        Assert.Equal(new DelegatedAuthResult(500, "Authentication failed"), await auth.CheckAsync("Bearer prometheus-token", "GET", "/metrics", default));
    }

    [Fact]
    public async Task CheckAsync_TransientServerError_RetriedAndAllowed()
    {
        using var auth = Create(options: new DelegatedAuthOptions { RetryDelay = TimeSpan.FromMilliseconds(10) });
        _api.FailNextRequests(2, 500);

        Assert.True((await auth.CheckAsync("Bearer prometheus-token", "GET", "/metrics", default)).IsAllowed);
    }

    [Fact]
    public async Task CheckAsync_ApiServerUnreachable_500AuthenticationFailed()
    {
        var nobody = new Uri($"http://127.0.0.1:{TestPorts.GetFreeTcpPort()}");
        using var auth = new DelegatedAuth(new KubernetesAccess(nobody) { Token = OwnToken }, NullLogger.Instance, new DelegatedAuthOptions { RetryDelay = TimeSpan.FromMilliseconds(1), ReviewTimeout = TimeSpan.FromSeconds(2) });

        Assert.Equal(new DelegatedAuthResult(500, "Authentication failed"), await auth.CheckAsync("Bearer prometheus-token", "GET", "/metrics", default));
    }

    [Theory]
    [InlineData("Bearer abc", "abc")]
    [InlineData("  BEARER abc  ", "abc")]
    [InlineData("Bearer abc def", "abc")]
    [InlineData("Token abc", null)]
    [InlineData("Bearer ", null)]
    public void BearerToken_ParsesAsKubernetesDoes(string header, string? expected) =>
        Assert.Equal(expected, DelegatedAuth.BearerToken(header));

    private DelegatedAuth Create(TimeProvider? time = null, DelegatedAuthOptions? options = null) =>
        new(new KubernetesAccess(_api.Url) { Token = OwnToken }, NullLogger.Instance, options, time);
}
