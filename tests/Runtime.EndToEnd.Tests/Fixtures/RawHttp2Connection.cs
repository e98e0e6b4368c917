using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Runtime.EndToEnd.Tests.Fixtures;

/// <summary>
/// A bare HTTP/2 client over a socket, for what a polite client (HttpClient, Envoy) never does: open
/// more streams than the server's SETTINGS allow. Writes the preface, an empty SETTINGS and any
/// number of HEADERS frames (HPACK literals, no Huffman) in one go; reads frames in the background,
/// acknowledging SETTINGS and PING and recording every RST_STREAM.
/// </summary>
internal sealed class RawHttp2Connection : IAsyncDisposable
{
    public const uint RefusedStream = 0x7;

    private const byte Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7;
    private const byte EndHeaders = 0x4, Ack = 0x1;

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Task _reader;
    private readonly List<(int StreamId, uint ErrorCode)> _resets = [];
    private int _nextStreamId = 1;

    private RawHttp2Connection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>The RST_STREAM frames received so far (stream id, error code).</summary>
    public IReadOnlyList<(int StreamId, uint ErrorCode)> Resets
    {
        get
        {
            lock (_resets)
            {
                return [.. _resets];
            }
        }
    }

    /// <summary>Set once the server sent GOAWAY.</summary>
    public bool GoAwayReceived { get; private set; }

    public static async Task<RawHttp2Connection> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port);
        var connection = new RawHttp2Connection(tcp);
        var preface = new MemoryStream();
        preface.Write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8);
        WriteFrame(preface, Settings, 0, 0, []);
        await connection.WriteAsync(preface.ToArray());
        return connection;
    }

    /// <summary>Opens <paramref name="count"/> gRPC POST streams (no END_STREAM: they stay open) in one write; returns their ids.</summary>
    public async Task<int[]> OpenStreamsAsync(int count, string path, string authority = "localhost")
    {
        var block = HeaderBlock([(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", authority), ("content-type", "application/grpc"), ("te", "trailers")]);
        var frames = new MemoryStream();
        var ids = new int[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = _nextStreamId;
            _nextStreamId += 2;
            WriteFrame(frames, Headers, EndHeaders, ids[i], block);
        }

        await WriteAsync(frames.ToArray());
        return ids;
    }

    /// <summary>Waits until at least <paramref name="count"/> RST_STREAM frames have arrived.</summary>
    public async Task<IReadOnlyList<(int StreamId, uint ErrorCode)>> WaitForResetsAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Resets.Count < count)
        {
            if (DateTime.UtcNow > deadline || _reader.IsCompleted)
            {
                throw new TimeoutException($"{Resets.Count} of {count} RST_STREAM frames arrived (connection {(_reader.IsCompleted ? "closed" : "open")}, GOAWAY {GoAwayReceived}).");
            }

            await Task.Delay(20);
        }

        return Resets;
    }

    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        await _reader.ContinueWith(static _ => { }, TaskScheduler.Default);
        _writeLock.Dispose();
    }

    private static byte[] HeaderBlock(IEnumerable<(string Name, string Value)> headers)
    {
        // HPACK "literal header field without indexing, new name" (0x00), lengths under 127, no Huffman.
        var block = new MemoryStream();
        foreach (var (name, value) in headers)
        {
            block.WriteByte(0x00);
            block.WriteByte(checked((byte)name.Length));
            block.Write(Encoding.ASCII.GetBytes(name));
            block.WriteByte(checked((byte)value.Length));
            block.Write(Encoding.ASCII.GetBytes(value));
        }

        return block.ToArray();
    }

    private static void WriteFrame(Stream output, byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header[5..], streamId);
        output.Write(header);
        output.Write(payload);
    }

    private async Task WriteAsync(byte[] bytes)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes);
            await _stream.FlushAsync();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        var header = new byte[9];
        try
        {
            while (true)
            {
                await _stream.ReadExactlyAsync(header);
                var length = (header[0] << 16) | (header[1] << 8) | header[2];
                var (type, flags) = (header[3], header[4]);
                var streamId = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF;
                var payload = new byte[length];
                await _stream.ReadExactlyAsync(payload);
                switch (type)
                {
                    case Settings when (flags & Ack) == 0:
                        await WriteAckAsync(Settings, []);
                        break;
                    case Ping when (flags & Ack) == 0:
                        await WriteAckAsync(Ping, payload);
                        break;
                    case RstStream:
                        lock (_resets)
                        {
                            _resets.Add((streamId, BinaryPrimitives.ReadUInt32BigEndian(payload)));
                        }

                        break;
                    case GoAway:
                        GoAwayReceived = true;
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException or ObjectDisposedException or SocketException)
        {
            // The connection closed; Resets keeps what arrived.
        }
    }

    private Task WriteAckAsync(byte type, byte[] payload)
    {
        var frame = new MemoryStream();
        WriteFrame(frame, type, Ack, 0, payload);
        return WriteAsync(frame.ToArray());
    }
}
