using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Runtime.TestSupport.Hosting;

/// <summary>Free loopback TCP ports for servers started by tests.</summary>
/// <remarks>
/// Ports come from below the kernel's ephemeral range, so no outgoing connection can hold one
/// as its local port, and each is reserved across processes with a lock file: the test
/// assemblies run in parallel and would otherwise hand out the same port twice. The lock is
/// held until the process exits, so a port is never reused within a test run either.
/// </remarks>
public static class TestPorts
{
    private const int DefaultEphemeralLow = 32768;
    private const int LowestPort = 10000;

    private static readonly List<FileStream> s_reservations = [];
    private static readonly Lock s_lock = new();
    private static readonly string s_lockDirectory = Path.Combine(Path.GetTempPath(), "runtime-test-ports");
    private static readonly int s_highestPort = EphemeralLow() - 1;

    /// <summary>
    /// A port that was free on 127.0.0.1 a moment ago and that no other test process has
    /// reserved. Something outside the tests can still take it before the server binds;
    /// launchers should fail fast if the bind fails.
    /// </summary>
    public static int GetFreeTcpPort() => GetFreeTcpPortRun(1);

    /// <summary>The first of <paramref name="length"/> consecutive ports, reserved as <see cref="GetFreeTcpPort"/>.</summary>
    public static int GetFreeTcpPortRun(int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        Directory.CreateDirectory(s_lockDirectory);
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var first = Random.Shared.Next(LowestPort, s_highestPort - length + 2);
            lock (s_lock)
            {
                var held = new List<FileStream>(length);
                for (var port = first; port < first + length && TryReserve(port) is { } reservation; port++)
                {
                    held.Add(reservation);
                }

                if (held.Count == length)
                {
                    s_reservations.AddRange(held);
                    return first;
                }

                held.ForEach(r => r.Dispose());
            }
        }

        throw new InvalidOperationException($"Could not reserve {length} free loopback TCP port(s) in {LowestPort}-{s_highestPort}.");
    }

    /// <summary>True when something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> IsAcceptingAsync(int port, CancellationToken cancellationToken = default)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The port's lock file held exclusively, when no other process holds it and the port binds.</summary>
    private static FileStream? TryReserve(int port)
    {
        FileStream reservation;
        try
        {
            // FileShare.None takes an exclusive flock on Unix; it is released when the process dies.
            reservation = new FileStream(
                Path.Combine(s_lockDirectory, port.ToString(CultureInfo.InvariantCulture)),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        if (Binds(port))
        {
            return reservation;
        }

        reservation.Dispose();
        return null;
    }

    private static bool Binds(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The low end of the kernel's ephemeral port range, where outgoing connections get their local ports.</summary>
    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (int.TryParse(range[0], CultureInfo.InvariantCulture, out var low) && low > LowestPort + 1000)
            {
                return low;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
        }

        return DefaultEphemeralLow;
    }
}
