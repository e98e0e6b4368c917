using Microsoft.Extensions.Time.Testing;
using Runtime.Endpoints;
using Runtime.Host.Serve;
using Runtime.TestSupport.Logging;
using Xunit;

namespace Runtime.Host.Tests.Serve;

/// <summary><c>--endpoints-file</c>: a bad file stops the start; a bad edit later keeps the last good set.</summary>
public sealed class StaticEndpointFileTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("endpoints-file-");
    private readonly FakeTimeProvider _time = new();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly EndpointStore _store = new();

    public void Dispose() => _directory.Delete(recursive: true);

    private string File(string name) => Path.Combine(_directory.FullName, name);

    private string[] Served() => [.. _store.Current.Endpoints.ToArray().Select(e => e.Endpoint.HostPort).Order(StringComparer.Ordinal)];

    private static void Write(string path, string text, int secondsLater)
    {
        System.IO.File.WriteAllText(path, text);
        System.IO.File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(secondsLater));
    }

    [Fact]
    public void TryStart_ValidFile_PublishesAndFollowsEdits()
    {
        var path = File("endpoints.txt");
        Write(path, "10.0.0.1:8000\n10.0.0.2:8000\n", 0);
        var errors = new List<string>();

        using var file = StaticEndpointFile.TryStart(path, _store, _logs.Logger, errors, _time);

        Assert.NotNull(file);
        Assert.Empty(errors);
        Assert.Equal(["10.0.0.1:8000", "10.0.0.2:8000"], Served());

        Write(path, "10.0.0.3:8000\n", 5);
        _time.Advance(StaticEndpointFile.PollInterval);

        Assert.Equal(["10.0.0.3:8000"], Served());
        Assert.Contains(_logs.Entries, e => e.Message == $"Endpoints loaded from {path}: 1 endpoints");
    }

    [Fact]
    public void Poll_InvalidEdit_KeepsTheLastGoodSetAndLogsTheProblem()
    {
        var path = File("endpoints.txt");
        Write(path, "10.0.0.1:8000\n", 0);
        using var file = StaticEndpointFile.TryStart(path, _store, _logs.Logger, [], _time);

        Write(path, "10.0.0.1:8000\nnot-an-endpoint\n", 5);
        _time.Advance(StaticEndpointFile.PollInterval);

        Assert.Equal(["10.0.0.1:8000"], Served());
        Assert.Contains(_logs.Entries, e => e.Message == $"endpoints_file: {path} not applied (1 errors); keeping the last good state");
        Assert.Contains(_logs.Entries, e => e.Message.StartsWith("endpoints_file: line 2: \"not-an-endpoint\"", StringComparison.Ordinal));
    }

    [Fact]
    public void TryStart_InvalidFile_RefusesWithEveryProblem()
    {
        var path = File("endpoints.txt");
        Write(path, "10.0.0.1:8000, 10.0.0.1:8000\n", 0);
        var errors = new List<string>();

        Assert.Null(StaticEndpointFile.TryStart(path, _store, _logs.Logger, errors, _time));

        Assert.StartsWith($"--endpoints-file {path}: line 1: \"10.0.0.1:8000\": duplicate endpoint", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Empty(Served());
    }

    [Fact]
    public void TryStart_MissingFile_RefusesSayingItCannotBeRead()
    {
        var path = File("absent.txt");
        var errors = new List<string>();

        Assert.Null(StaticEndpointFile.TryStart(path, _store, _logs.Logger, errors, _time));

        Assert.Equal($"--endpoints-file {path}: could not be read: {path} does not exist", Assert.Single(errors));
    }
}
