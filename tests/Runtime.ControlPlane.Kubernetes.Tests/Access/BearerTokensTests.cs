using Microsoft.Extensions.Time.Testing;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.TestSupport.Logging;

namespace Runtime.ControlPlane.Kubernetes.Tests.Access;

public sealed class BearerTokensTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("kube-tokens-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void Current_TokenFile_IsReadAgainAfterTheInterval()
    {
        var file = Path.Combine(_directory.FullName, "token");
        File.WriteAllText(file, "one\n");
        var time = new FakeTimeProvider();
        var tokens = new BearerTokens(new KubernetesAccess(new Uri("https://kube")) { TokenFile = file, TokenRefreshInterval = TimeSpan.FromMinutes(1) }, time);

        Assert.Equal("one", tokens.Current());
        File.WriteAllText(file, "two\n");
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("one", tokens.Current());
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("two", tokens.Current());
    }

    [Fact]
    public void Invalidate_TokenFile_IsReadAgainAtOnce()
    {
        var file = Path.Combine(_directory.FullName, "token");
        File.WriteAllText(file, "one");
        var tokens = new BearerTokens(new KubernetesAccess(new Uri("https://kube")) { TokenFile = file }, new FakeTimeProvider());
        Assert.Equal("one", tokens.Current());

        File.WriteAllText(file, "two");
        tokens.Invalidate();

        Assert.Equal("two", tokens.Current());
    }

    [Fact]
    public void Current_FileVanishesAfterFirstRead_KeepsTheLastToken()
    {
        var file = Path.Combine(_directory.FullName, "token");
        File.WriteAllText(file, "one");
        var tokens = new BearerTokens(new KubernetesAccess(new Uri("https://kube")) { TokenFile = file }, new FakeTimeProvider());
        Assert.Equal("one", tokens.Current());

        File.Delete(file);
        tokens.Invalidate();

        Assert.Equal("one", tokens.Current());
    }

    [Fact]
    public void Current_FileVanishesAfterFirstRead_TheFailedReadIsLogged()
    {
        var file = Path.Combine(_directory.FullName, "token");
        File.WriteAllText(file, "one");
        var logs = new CapturingLoggerProvider();
        var tokens = new BearerTokens(new KubernetesAccess(new Uri("https://kube")) { TokenFile = file }, new FakeTimeProvider(), logs.Logger);
        Assert.Equal("one", tokens.Current());

        File.Delete(file);
        tokens.Invalidate();
        Assert.Equal("one", tokens.Current());

        var line = Assert.Single(logs.Entries);
        Assert.Contains($"cannot re-read the token file {file}; keeping the last token", line.Message, StringComparison.Ordinal);
        Assert.IsType<FileNotFoundException>(line.Exception);
    }

    [Fact]
    public void Current_StaticToken_NeedsNoFile()
    {
        var tokens = new BearerTokens(new KubernetesAccess(new Uri("https://kube")) { Token = "fixed" }, new FakeTimeProvider());

        Assert.Equal("fixed", tokens.Current());
        Assert.False(tokens.CanRefresh);
    }
}
