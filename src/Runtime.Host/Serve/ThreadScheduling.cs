using System.Globalization;
using System.Runtime.InteropServices;

namespace Runtime.Host.Serve;

/// <summary><c>--thread-scheduling</c>: the Linux scheduling policy the process's threads run under.</summary>
internal enum ThreadSchedulingPolicy
{
    /// <summary>Left as the process started: SCHED_OTHER, the kernel's default, where a woken thread may preempt the running one.</summary>
    Normal,

    /// <summary>
    /// SCHED_BATCH: a woken thread waits until the running one blocks or its time slice ends. On a
    /// busy core our own threads stop preempting each other (the socket engine thread woken by new
    /// bytes used to preempt the worker that was answering the previous message), so each runs
    /// longer and finds more work when it runs. A core shared with other busy processes makes a
    /// woken thread wait up to a scheduler tick instead.
    /// </summary>
    Batch,
}

/// <summary>Applies <see cref="ThreadSchedulingPolicy"/> to every thread of the process.</summary>
internal static partial class ThreadScheduling
{
    private const int SchedBatch = 3;
    private const int NoSuchThread = 3; // ESRCH: the thread ended between listing and setting

    /// <summary>The value of <c>--thread-scheduling</c>.</summary>
    public static ThreadSchedulingPolicy Parse(string value) => value switch
    {
        "normal" => ThreadSchedulingPolicy.Normal,
        "batch" when OperatingSystem.IsLinux() => ThreadSchedulingPolicy.Batch,
        "batch" => throw new FormatException("batch is a Linux scheduling policy"),
        _ => throw new FormatException("must be normal or batch"),
    };

    /// <summary>
    /// Puts every thread the process has now under <paramref name="policy"/>; threads started later
    /// inherit it from the thread that starts them. Normal changes nothing (the kernel's default).
    /// Returns how many threads were set; throws <see cref="InvalidOperationException"/> when the
    /// kernel refuses (a seccomp profile that forbids <c>sched_setscheduler</c>).
    /// </summary>
    public static int Apply(ThreadSchedulingPolicy policy)
    {
        if (policy == ThreadSchedulingPolicy.Normal)
        {
            return 0;
        }

        var set = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            var thread = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
            var parameters = new SchedParam();
            if (SetScheduler(thread, SchedBatch, ref parameters) == 0)
            {
                set++;
                continue;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error != NoSuchThread)
            {
                throw new InvalidOperationException($"--thread-scheduling=batch: sched_setscheduler(SCHED_BATCH) failed: {Marshal.GetPInvokeErrorMessage(error)}");
            }
        }

        return set;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedParam
    {
        public int Priority; // 0: the only priority SCHED_BATCH has
    }

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SetScheduler(int thread, int policy, ref SchedParam parameters);
}
