using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Runtime.TestSupport.Hosting;

/// <summary>Options for <see cref="RuntimeProcess.Start"/>.</summary>
public sealed record RuntimeProcessOptions
{
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables added to (or, with a null value, removed from) the inherited environment.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>How long a SIGTERM may take before the process is killed.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// A child process under test (the runtime binary, or any executable): captures stdout and
/// stderr, waits for its ports, and on dispose asks it to stop with SIGTERM, killing it only
/// if it has not exited within <see cref="RuntimeProcessOptions.ShutdownTimeout"/>.
/// </summary>
public sealed class RuntimeProcess : IAsyncDisposable
{
    private const int Sigterm = 15;
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(20);

    private readonly Process _process;
    private readonly RuntimeProcessOptions _options;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _combined = new();
    private readonly Lock _outputLock = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openStreams = 2;
    private Task<int>? _stop;

    private RuntimeProcess(Process process, RuntimeProcessOptions options, string commandLine)
    {
        _process = process;
        _options = options;
        CommandLine = commandLine;
    }

    public string CommandLine { get; }

    public int Id => _process.Id;

    public DateTimeOffset StartedAt { get; private set; }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once the process has exited (128 + the signal number when a signal ended it).</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>True when the last stop ended with SIGTERM alone (no kill needed).</summary>
    public bool StoppedGracefully { get; private set; }

    public string StandardOutput => Snapshot(_stdout);

    public string StandardError => Snapshot(_stderr);

    /// <summary>Both streams interleaved in arrival order, stderr lines prefixed with "! ".</summary>
    public string Output => Snapshot(_combined);

    /// <summary>Starts the executable with the given arguments (no shell involved).</summary>
    public static RuntimeProcess Start(string fileName, IEnumerable<string> arguments, RuntimeProcessOptions? options = null)
    {
        options ??= new RuntimeProcessOptions();
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = options.WorkingDirectory ?? string.Empty,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in options.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var runtime = new RuntimeProcess(process, options, $"{fileName} {string.Join(' ', info.ArgumentList)}");
        process.OutputDataReceived += (_, e) => runtime.OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => runtime.OnLine(e.Data, isError: true);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {runtime.CommandLine}.");
        }

        runtime.StartedAt = DateTimeOffset.UtcNow;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return runtime;
    }

    /// <summary>
    /// Waits until every port accepts TCP connections on 127.0.0.1. Returns the time from
    /// start to the last port listening. Fails at once if the process exits meanwhile.
    /// </summary>
    public async Task<TimeSpan> WaitForPortsAsync(IEnumerable<int> ports, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var pending = new List<int>(ports);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                for (var i = pending.Count - 1; i >= 0; i--)
                {
                    if (await TestPorts.IsAcceptingAsync(pending[i], deadline.Token))
                    {
                        pending.RemoveAt(i);
                    }
                }

                if (pending.Count == 0)
                {
                    return DateTimeOffset.UtcNow - StartedAt;
                }

                if (_process.HasExited)
                {
                    await WaitForOutputClosedAsync();
                    throw new InvalidOperationException(
                        $"{CommandLine} exited with code {_process.ExitCode} before listening on port(s) {string.Join(", ", pending)}.{Environment.NewLine}{Output}");
                }

                // Readiness has no notification to await; poll the sockets.
                await Task.Delay(s_pollInterval, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"{CommandLine} was not listening on port(s) {string.Join(", ", pending)} within {timeout.TotalSeconds:0.#} s.{Environment.NewLine}{Output}");
        }
    }

    public Task<TimeSpan> WaitForPortAsync(int port, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForPortsAsync([port], timeout, cancellationToken);

    /// <summary>Waits until the output contains <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (!Output.Contains(text, StringComparison.Ordinal))
            {
                if (_process.HasExited)
                {
                    await WaitForOutputClosedAsync();
                    if (Output.Contains(text, StringComparison.Ordinal))
                    {
                        return;
                    }

                    throw new InvalidOperationException($"{CommandLine} exited with code {_process.ExitCode} without printing '{text}'.{Environment.NewLine}{Output}");
                }

                await Task.Delay(s_pollInterval, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{CommandLine} did not print '{text}' within {timeout.TotalSeconds:0.#} s.{Environment.NewLine}{Output}");
        }
    }

    /// <summary>Waits for the process to exit by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{CommandLine} did not exit within {timeout.TotalSeconds:0.#} s.{Environment.NewLine}{Output}");
        }

        await WaitForOutputClosedAsync();
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM and returns at once, to test what the process does while shutting down.</summary>
    public void SendSigterm()
    {
        if (!_process.HasExited && Kill(_process.Id, Sigterm) != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill(SIGTERM) failed for {CommandLine} (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    /// <summary>
    /// SIGTERM, then SIGKILL after the shutdown timeout. Returns the exit code. Safe to call
    /// more than once; later calls return the first stop's result.
    /// </summary>
    public Task<int> StopAsync() => _stop ??= StopCoreAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task<int> StopCoreAsync()
    {
        if (!_process.HasExited)
        {
            if (Kill(_process.Id, Sigterm) != 0 && !_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            try
            {
                await _process.WaitForExitAsync().WaitAsync(_options.ShutdownTimeout);
                StoppedGracefully = true;
            }
            catch (TimeoutException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        await WaitForOutputClosedAsync();
        return _process.ExitCode;
    }

    private async Task WaitForOutputClosedAsync()
    {
        // The last lines arrive on the reader threads after exit; a grandchild holding the
        // pipes open must not block forever.
        try
        {
            await _outputClosed.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }
    }

    private void OnLine(string? line, bool isError)
    {
        lock (_outputLock)
        {
            if (line is null)
            {
                if (--_openStreams == 0)
                {
                    _outputClosed.TrySetResult();
                }

                return;
            }

            (isError ? _stderr : _stdout).AppendLine(line);
            _combined.Append(isError ? "! " : string.Empty).AppendLine(line);
        }
    }

    private string Snapshot(StringBuilder builder)
    {
        lock (_outputLock)
        {
            return builder.ToString();
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
