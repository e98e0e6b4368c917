using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Runtime.Host.Serve;

/// <summary>
/// Starts a <see cref="RuntimeServer"/> so that a listener that cannot open (a port in use, a
/// privileged port, an address not on this host) is one line on stderr and exit 1, not an
/// unhandled exception. While the listeners bind, hosting's and Kestrel's own reports of the
/// same failure (logged with a stack trace) are held back: the line printed here says it.
/// </summary>
internal static class ServerStartup
{
    /// <summary>The categories that log a failed start themselves, with the exception's stack.</summary>
    private static readonly string[] s_startFailureCategories =
    [
        "Microsoft.Extensions.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Hosting",
    ];

    private static volatile bool s_starting;

    /// <summary>Runs until shutdown; 1 (after one line on stderr) when the listeners cannot start.</summary>
    public static async Task<int> RunAsync(RuntimeServer server, Action? started)
    {
        ArgumentNullException.ThrowIfNull(server);
        s_starting = true;
        try
        {
            await server.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync("error: cannot start listening: " + Describe(ex)).ConfigureAwait(false);
            return 1;
        }
        finally
        {
            s_starting = false;
        }

        started?.Invoke();
        await server.WaitForShutdownAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>Holds back the start-failure categories' lines while starting; otherwise <paramref name="floor"/> applies.</summary>
    public static void AddLogFilters(ILoggingBuilder logging, LogLevel floor)
    {
        foreach (var category in s_startFailureCategories)
        {
            logging.AddFilter(category, level => level >= floor && !(s_starting && level >= LogLevel.Error));
        }
    }

    /// <summary>Kestrel's message names the address ("Failed to bind to address http://0.0.0.0:9002: address already in use."); its inner exception, the reason.</summary>
    private static string Describe(Exception ex)
    {
        var message = ex.Message.TrimEnd('.');
        if (ex.InnerException is { Message: { Length: > 0 } inner } && !message.Contains(inner.TrimEnd('.'), StringComparison.OrdinalIgnoreCase))
        {
            message += ": " + inner.TrimEnd('.');
        }

        return message.ReplaceLineEndings(" ");
    }
}
