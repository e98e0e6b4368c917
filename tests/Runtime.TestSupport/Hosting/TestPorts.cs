using System.Net;
using System.Net.Sockets;

namespace Runtime.TestSupport.Hosting;

/// <summary>Free loopback TCP ports for servers started by tests.</summary>
public static class TestPorts
{
    private static readonly HashSet<int> s_handedOut = [];
    private static readonly Lock s_lock = new();

    /// <summary>
    /// A port that was free on 127.0.0.1 a moment ago and has not been handed out before in
    /// this process. Another process can still take it before the server binds; launchers
    /// should fail fast if the bind fails.
    /// </summary>
    public static int GetFreeTcpPort()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (s_lock)
            {
                if (s_handedOut.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException("Could not find a loopback TCP port not already handed out.");
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
}
