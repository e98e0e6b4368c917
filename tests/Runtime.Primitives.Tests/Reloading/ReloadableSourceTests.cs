using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Runtime.Primitives.Reloading;
using Runtime.TestSupport.Logging;

namespace Runtime.Primitives.Tests.Reloading;

/// <summary>The reload primitive on a fake clock and fake content: every decision it makes, none of the file system.</summary>
public sealed class ReloadableSourceTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly FakeContent _content = new();
    private readonly List<Settings> _applied = [];
    private readonly string _name = "test_" + Guid.NewGuid().ToString("N")[..8];
    private readonly MeterListener _listener = new();
    private long _loadsMeasured;
    private long _errorsMeasured;
    private ReloadableSource<Settings>? _source;

    public ReloadableSourceTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is ReloadMetrics.LoadsCounterName or ReloadMetrics.ErrorsCounterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "source" && (string?)tag.Value == _name)
                {
                    Interlocked.Add(ref instrument.Name == ReloadMetrics.LoadsCounterName ? ref _loadsMeasured : ref _errorsMeasured, value);
                }
            }
        });
        _listener.Start();
    }

    public void Dispose()
    {
        _source?.Dispose();
        _listener.Dispose();
    }

    private sealed record Settings(int Version);

    /// <summary>Content whose fingerprint and load result the test sets; counts the loads.</summary>
    private sealed class FakeContent
    {
        public string Fingerprint { get; set; } = "v1";

        public Func<LoadResult<Settings>> Next { get; set; } = () => LoadResult.Valid(new Settings(1));

        public int Loads { get; private set; }

        public LoadResult<Settings> Load()
        {
            Loads++;
            return Next();
        }

        public void Set(string fingerprint, int version)
        {
            Fingerprint = fingerprint;
            Next = () => LoadResult.Valid(new Settings(version));
        }
    }

    private ReloadableSource<Settings> Source(TimeSpan? poll = null, Func<Settings, bool>? apply = null)
    {
        var options = new ReloadableSourceOptions
        {
            Name = _name,
            Location = "/etc/test/settings.yaml",
            Debounce = TimeSpan.FromMilliseconds(100),
            PollInterval = poll ?? TimeSpan.Zero,
            TimeProvider = _time,
        };
        _source = new ReloadableSource<Settings>(options, () => _content.Fingerprint, _content.Load, apply ?? (value => { _applied.Add(value); return true; }), _logs.Logger);
        return _source;
    }

    [Fact]
    public void Reload_FingerprintUnchanged_DoesNotReadTheContent()
    {
        var source = Source();
        Assert.Equal(ReloadStatus.Applied, source.Reload().Status);

        Assert.Equal(ReloadStatus.Skipped, source.Reload().Status);
        Assert.Equal(ReloadStatus.Skipped, source.Reload().Status);

        Assert.Equal(1, _content.Loads);
        Assert.Equal(1, source.LoadCount);
        Assert.Equal(1, Interlocked.Read(ref _loadsMeasured));
    }

    [Fact]
    public void Reload_ValidChange_SwapsInTheNewValueAndAppliesIt()
    {
        var source = Source();
        source.Reload();

        _content.Set("v2", 2);
        var outcome = source.Reload();

        Assert.Equal(ReloadStatus.Applied, outcome.Status);
        Assert.Empty(outcome.Errors);
        Assert.Equal(new Settings(2), source.Current);
        Assert.Equal([new Settings(1), new Settings(2)], _applied);
        Assert.Equal(2, source.AppliedCount);
    }

    [Fact]
    public void Reload_ValidButEquivalent_ReportsUnchanged()
    {
        var source = Source(apply: _ => false);
        source.Reload();
        _content.Fingerprint = "v1-touched";

        Assert.Equal(ReloadStatus.Unchanged, source.Reload().Status);
        Assert.Equal(0, source.AppliedCount);
        Assert.Equal(2, source.LoadCount);
    }

    [Fact]
    public void Reload_InvalidContent_KeepsTheLastGoodValueAndReportsEveryError()
    {
        IReadOnlyList<string>? told = null;
        var options = new ReloadableSourceOptions { Name = _name, Location = "/etc/test/settings.yaml", TimeProvider = _time };
        using var source = new ReloadableSource<Settings>(options, () => _content.Fingerprint, _content.Load, null, _logs.Logger, errors => told = errors);
        source.Reload();

        _content.Fingerprint = "v2";
        _content.Next = () => LoadResult.Invalid<Settings>(["settings.yaml:3: port must be a number", "settings.yaml:9: unknown field \"colour\""]);
        var outcome = source.Reload();

        Assert.Equal(ReloadStatus.Rejected, outcome.Status);
        Assert.Equal(new Settings(1), source.Current);
        Assert.Equal(["settings.yaml:3: port must be a number", "settings.yaml:9: unknown field \"colour\""], source.LastErrors);
        Assert.Equal(source.LastErrors, told);
        Assert.Equal(1, source.ErrorCount);
        Assert.Equal(1, Interlocked.Read(ref _errorsMeasured));
        var lines = _logs.Entries.Select(e => (e.Level, e.Message)).ToArray();
        Assert.Equal(
            [
                (LogLevel.Warning, $"{_name}: /etc/test/settings.yaml not applied (2 errors); keeping the last good state"),
                (LogLevel.Warning, $"{_name}: settings.yaml:3: port must be a number"),
                (LogLevel.Warning, $"{_name}: settings.yaml:9: unknown field \"colour\""),
            ],
            lines);
    }

    [Fact]
    public void Reload_RejectedContentNotChangedSince_IsNotReadAgainUntilItChanges()
    {
        var source = Source();
        source.Reload();
        _content.Fingerprint = "broken";
        _content.Next = () => LoadResult.Invalid<Settings>(["settings.yaml:1: bad"]);
        source.Reload();

        Assert.Equal(ReloadStatus.Skipped, source.Reload().Status);
        Assert.Equal(2, _content.Loads);

        _content.Set("fixed", 3);
        Assert.Equal(ReloadStatus.Applied, source.Reload().Status);
        Assert.Empty(source.LastErrors);
        Assert.Equal(new Settings(3), source.Current);
    }

    [Fact]
    public void Reload_Unreadable_IsReadAgainEvenThoughTheFingerprintDidNotMove()
    {
        var source = Source();
        _content.Next = () => LoadResult.Unreadable<Settings>(["settings.yaml: could not be read: in use"]);
        Assert.Equal(ReloadStatus.Rejected, source.Reload().Status);
        Assert.Null(source.Current);

        _content.Next = () => LoadResult.Valid(new Settings(4));
        Assert.Equal(ReloadStatus.Applied, source.Reload().Status);
        Assert.Equal(2, _content.Loads);
    }

    [Fact]
    public void Reload_FingerprintThrowsIOException_RejectedWithTheReasonAndRetried()
    {
        var failing = true;
        var options = new ReloadableSourceOptions { Name = _name, Location = "/etc/test", TimeProvider = _time };
        using var source = new ReloadableSource<Settings>(options, () => failing ? throw new IOException("permission denied") : "v1", _content.Load, null, _logs.Logger);

        var outcome = source.Reload();

        Assert.Equal(ReloadStatus.Rejected, outcome.Status);
        Assert.Equal(["could not be read: permission denied"], outcome.Errors);
        Assert.Contains(_logs.Entries, e => e.Message == $"{_name}: /etc/test is invalid (1 errors); nothing loaded yet");
        failing = false;
        Assert.Equal(ReloadStatus.Applied, source.Reload().Status);
    }

    [Fact]
    public void Reload_SameProblemsAgain_CountedEachTimeButLoggedOnce()
    {
        var source = Source();
        _content.Next = () => LoadResult.Unreadable<Settings>(["settings.yaml: could not be read: gone"]);

        source.Reload();
        source.Reload();
        source.Reload();

        Assert.Equal(3, source.ErrorCount);
        Assert.Equal(3, Interlocked.Read(ref _errorsMeasured));
        Assert.Single(_logs.Entries, e => e.Message.EndsWith("could not be read: gone", StringComparison.Ordinal));
    }

    [Fact]
    public void Reload_EditedButStillWithTheSameProblem_LoggedAgain()
    {
        var source = Source();
        _content.Next = () => LoadResult.Invalid<Settings>(["settings.yaml:1: bad"]);
        source.Reload();

        _content.Fingerprint = "v2";
        source.Reload();

        Assert.Equal(2, _logs.Entries.Count(e => e.Message == $"{_name}: settings.yaml:1: bad"));
    }

    [Fact]
    public void LoadFirst_Invalid_ReturnsTheErrorsWithoutLoggingOrCounting()
    {
        var source = Source();
        _content.Next = () => LoadResult.Invalid<Settings>(["settings.yaml:1: bad"]);

        var outcome = source.LoadFirst();

        Assert.Equal(ReloadStatus.Rejected, outcome.Status);
        Assert.Equal(["settings.yaml:1: bad"], outcome.Errors);
        Assert.Empty(_logs.Entries);
        Assert.Equal(0, source.ErrorCount);
    }

    [Fact]
    public void NotifyChanged_BurstOfEvents_OneReloadOnceTheSourceIsQuietForTheDebounce()
    {
        var source = Source();
        source.Start();
        _content.Set("v2", 2);

        source.NotifyChanged();
        _time.Advance(TimeSpan.FromMilliseconds(60));
        source.NotifyChanged();
        _time.Advance(TimeSpan.FromMilliseconds(60));
        source.NotifyChanged();
        _time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.Equal(1, _content.Loads);

        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(2, _content.Loads);
        Assert.Equal(new Settings(2), source.Current);
    }

    [Fact]
    public void NotifyChanged_SourceNeverQuiet_StillReloadedAfterTheDebounceCap()
    {
        var source = Source();
        source.Start();
        _content.Set("v2", 2);

        // An event every 50 ms keeps resetting a 100 ms debounce; the cap is 10 debounces.
        for (var elapsed = 0; elapsed <= 1000 && _content.Loads == 1; elapsed += 50)
        {
            source.NotifyChanged();
            _time.Advance(TimeSpan.FromMilliseconds(50));
        }

        Assert.Equal(2, _content.Loads);
        Assert.Equal(new Settings(2), source.Current);
    }

    [Fact]
    public void Start_WithPolling_SeesAChangeAtTheNextPoll()
    {
        var source = Source(poll: TimeSpan.FromSeconds(1));
        Assert.Equal(ReloadStatus.Applied, source.Start().Status);
        _content.Set("v2", 2);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(new Settings(1), source.Current);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(new Settings(2), source.Current);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, _content.Loads);
    }

    [Fact]
    public void Poll_LoadThrows_LoggedAndCountedAsASwallowedFailureThenRetried()
    {
        var source = Source(poll: TimeSpan.FromSeconds(1));
        source.Start();
        _content.Fingerprint = "v2";
        _content.Next = () => throw new InvalidOperationException("parser bug");

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(new Settings(1), source.Current);
        Assert.Equal(["reload failed unexpectedly: parser bug"], source.LastErrors);
        var line = Assert.Single(_logs.Entries);
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Contains($"reload ({_name}): reloading /etc/test/settings.yaml failed unexpectedly", line.Message, StringComparison.Ordinal);
        Assert.Equal(1, source.ErrorCount);

        _content.Set("v2", 2);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(new Settings(2), source.Current);
    }

    [Fact]
    public void Dispose_StopsPollingAndRefusesToStartAgain()
    {
        var source = Source(poll: TimeSpan.FromSeconds(1));
        source.Start();
        source.Dispose();
        _content.Set("v2", 2);

        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(1, _content.Loads);
        Assert.Equal(ReloadStatus.Skipped, source.Reload().Status);
        Assert.Throws<ObjectDisposedException>(() => source.Start());
        source.Dispose();
    }
}
