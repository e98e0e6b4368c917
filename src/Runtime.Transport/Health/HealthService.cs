using System.Buffers;
using System.Text;
using Runtime.Transport.Grpc;

namespace Runtime.Transport.Health;

/// <summary>
/// <c>grpc.health.v1.Health</c> Check and Watch over our gRPC layer. The two messages are
/// tiny (one string, one enum), so they are coded by hand here.
/// </summary>
public sealed class HealthService
{
    public const string CheckPath = "/grpc.health.v1.Health/Check";
    public const string WatchPath = "/grpc.health.v1.Health/Watch";

    private readonly HealthStatusRegistry _registry;

    public HealthService(HealthStatusRegistry registry)
    {
        _registry = registry;
    }

    public GrpcServiceTable CreateServiceTable() => new(
        "health",
        [
            new(CheckPath, CheckAsync),
            new(WatchPath, WatchAsync),
        ]);

    private async Task CheckAsync(GrpcCall call)
    {
        var service = await ReadSingleRequestAsync(call).ConfigureAwait(false);
        if (!_registry.IsKnown(service))
        {
            throw new GrpcException(GrpcStatusCode.NotFound, "unknown service");
        }

        WriteResponse(call, _registry.Get(service));
        await call.FlushAsync().ConfigureAwait(false);
    }

    private async Task WatchAsync(GrpcCall call)
    {
        var service = await ReadSingleRequestAsync(call).ConfigureAwait(false);
        ServingStatus? sent = null;
        while (true)
        {
            // Take the signal before reading the status so no change can slip between them.
            var changed = _registry.WaitForChangeAsync(call.CallCancelled);
            var status = _registry.Get(service);
            if (status != sent)
            {
                WriteResponse(call, status);
                if (!await call.FlushAsync().ConfigureAwait(false))
                {
                    return;
                }

                sent = status;
            }

            if (_registry.IsShutDown)
            {
                return;
            }

            await changed.ConfigureAwait(false);
        }
    }

    private static async Task<string> ReadSingleRequestAsync(GrpcCall call)
    {
        if (!await call.ReadMessageAsync().ConfigureAwait(false))
        {
            throw new GrpcException(GrpcStatusCode.Internal, "Request message not received.");
        }

        if (!TryDecodeRequest(call.Message, out var service))
        {
            throw new GrpcException(GrpcStatusCode.Internal, "Malformed HealthCheckRequest.");
        }

        return service;
    }

    /// <summary>Decodes <c>HealthCheckRequest{string service = 1}</c>, skipping unknown fields.</summary>
    internal static bool TryDecodeRequest(in ReadOnlySequence<byte> message, out string service)
    {
        service = string.Empty;
        var bytes = message.IsSingleSegment ? message.FirstSpan : message.ToArray();
        var i = 0;
        while (i < bytes.Length)
        {
            if (!TryReadVarint(bytes, ref i, out var tag) || (tag >> 3) == 0)
            {
                return false;
            }

            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(bytes, ref i, out _))
                    {
                        return false;
                    }

                    break;
                case 1:
                    i += 8;
                    break;
                case 5:
                    i += 4;
                    break;
                case 2:
                    if (!TryReadVarint(bytes, ref i, out var length) || length > (ulong)(bytes.Length - i))
                    {
                        return false;
                    }

                    if (tag == ((1 << 3) | 2))
                    {
                        service = Encoding.UTF8.GetString(bytes.Slice(i, (int)length));
                    }

                    i += (int)length;
                    break;
                default:
                    return false;
            }
        }

        return i == bytes.Length;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int i, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if ((uint)i >= (uint)bytes.Length)
            {
                return false;
            }

            var b = bytes[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private static void WriteResponse(GrpcCall call, ServingStatus status)
    {
        // HealthCheckResponse{ServingStatus status = 1}; proto3 omits the zero value.
        ReadOnlySpan<byte> message = status == ServingStatus.Unknown ? [] : [0x08, (byte)status];
        GrpcFraming.WriteMessage(call.ResponseWriter, message);
    }
}
