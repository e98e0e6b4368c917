using Microsoft.Extensions.Time.Testing;

namespace Runtime.FlowControl.Tests.Support;

/// <summary>
/// The library's fake clock, plus how many of the timers created on it are armed (have a due time
/// and neither fired once nor were disposed): the flow controller must not leave timers behind
/// once nothing waits.
/// </summary>
public sealed class TimerCountingTimeProvider : FakeTimeProvider
{
    private int _armed;

    public TimerCountingTimeProvider()
        : base(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public int ArmedTimers => Volatile.Read(ref _armed);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new CountedTimer(this);
        timer.Inner = base.CreateTimer(
            s =>
            {
                timer.Fired();
                callback(s);
            },
            state,
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class CountedTimer(TimerCountingTimeProvider owner) : ITimer
    {
        private readonly Lock _lock = new();
        private bool _armed;
        private bool _periodic;
        private bool _disposed;

        public ITimer Inner { get; set; } = null!;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    return false;
                }

                _periodic = period != Timeout.InfiniteTimeSpan && period != TimeSpan.Zero;
                SetArmed(dueTime != Timeout.InfiniteTimeSpan);
                return Inner.Change(dueTime, period);
            }
        }

        // A one-shot timer that fired is no longer armed.
        public void Fired()
        {
            lock (_lock)
            {
                if (!_periodic)
                {
                    SetArmed(false);
                }
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _disposed = true;
                SetArmed(false);
                Inner.Dispose();
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void SetArmed(bool armed)
        {
            if (armed != _armed)
            {
                _armed = armed;
                Interlocked.Add(ref owner._armed, armed ? 1 : -1);
            }
        }
    }
}
