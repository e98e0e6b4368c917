using System.Buffers;
using System.Text;
using Grpc.Core;

namespace Runtime.Transport.Health;

/// <summary><c>grpc.health.v1.HealthCheckRequest{string service = 1}</c>.</summary>
public sealed class HealthCheckRequest
{
    public string Service { get; init; } = string.Empty;
}

/// <summary><c>grpc.health.v1.HealthCheckResponse{ServingStatus status = 1}</c>; one shared instance per status.</summary>
public sealed class HealthCheckResponse
{
    private static readonly HealthCheckResponse[] s_byStatus = [new(ServingStatus.Unknown), new(ServingStatus.Serving), new(ServingStatus.NotServing), new(ServingStatus.ServiceUnknown)];

    private HealthCheckResponse(ServingStatus status)
    {
        Status = status;
    }

    public ServingStatus Status { get; }

    public static HealthCheckResponse For(ServingStatus status) => s_byStatus[(int)status];
}

/// <summary><c>grpc.health.v1.HealthListRequest{}</c>.</summary>
public sealed class HealthListRequest
{
    public static HealthListRequest Instance { get; } = new();
}

/// <summary><c>grpc.health.v1.HealthListResponse{map&lt;string, HealthCheckResponse&gt; statuses = 1}</c>.</summary>
public sealed class HealthListResponse
{
    public IReadOnlyList<KeyValuePair<string, ServingStatus>> Statuses { get; init; } = [];
}

/// <summary>
/// Protobuf coding of the four health messages. They are tiny (a string, an enum, a map of
/// them), so they are coded by hand rather than through generated code.
/// </summary>
public static class HealthMessages
{
    public static readonly Marshaller<HealthCheckRequest> CheckRequest = Marshallers.Create<HealthCheckRequest>(
        static (request, context) => WriteMessage(context, EncodeCheckRequest(request.Service)),
        static context => TryDecodeCheckRequest(context.PayloadAsReadOnlySequence(), out var service)
            ? new HealthCheckRequest { Service = service }
            : throw new RpcException(new Status(StatusCode.Internal, "Malformed HealthCheckRequest.")));

    public static readonly Marshaller<HealthCheckResponse> CheckResponse = Marshallers.Create<HealthCheckResponse>(
        static (response, context) => WriteMessage(context, EncodeStatus(response.Status)),
        static context => HealthCheckResponse.For(DecodeStatus(context.PayloadAsReadOnlySequence())));

    public static readonly Marshaller<HealthListRequest> ListRequest = Marshallers.Create<HealthListRequest>(
        static (_, context) => WriteMessage(context, []),
        static _ => HealthListRequest.Instance);

    public static readonly Marshaller<HealthListResponse> ListResponse = Marshallers.Create<HealthListResponse>(
        static (response, context) => WriteMessage(context, EncodeList(response.Statuses)),
        static _ => throw new NotSupportedException("HealthListResponse is only sent."));

    /// <summary>Decodes <c>HealthCheckRequest{string service = 1}</c>, skipping unknown fields.</summary>
    internal static bool TryDecodeCheckRequest(in ReadOnlySequence<byte> message, out string service)
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

    internal static byte[] EncodeCheckRequest(string service)
    {
        if (service.Length == 0)
        {
            return [];
        }

        var writer = new ArrayBufferWriter<byte>();
        WriteString(writer, 1, service);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>HealthCheckResponse; proto3 omits the zero value.</summary>
    internal static byte[] EncodeStatus(ServingStatus status) =>
        status == ServingStatus.Unknown ? [] : [0x08, (byte)status];

    internal static ServingStatus DecodeStatus(in ReadOnlySequence<byte> message)
    {
        var bytes = message.ToArray();
        return bytes.Length == 2 && bytes[0] == 0x08 && bytes[1] <= 3 ? (ServingStatus)bytes[1] : ServingStatus.Unknown;
    }

    /// <summary>HealthListResponse: one map entry <c>{1: name, 2: HealthCheckResponse}</c> per service, as field 1.</summary>
    internal static byte[] EncodeList(IReadOnlyList<KeyValuePair<string, ServingStatus>> statuses)
    {
        var writer = new ArrayBufferWriter<byte>();
        foreach (var (name, status) in statuses)
        {
            var entry = new ArrayBufferWriter<byte>();
            WriteString(entry, 1, name);
            var value = EncodeStatus(status);
            WriteTag(entry, 2, 2);
            WriteVarint(entry, (uint)value.Length);
            entry.Write(value);
            WriteTag(writer, 1, 2);
            WriteVarint(writer, (uint)entry.WrittenCount);
            writer.Write(entry.WrittenSpan);
        }

        return writer.WrittenSpan.ToArray();
    }

    private static void WriteMessage(SerializationContext context, ReadOnlySpan<byte> payload)
    {
        context.SetPayloadLength(payload.Length);
        var writer = context.GetBufferWriter();
        writer.Write(payload);
        context.Complete();
    }

    private static void WriteString(IBufferWriter<byte> writer, int field, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteTag(writer, field, 2);
        WriteVarint(writer, (uint)bytes.Length);
        writer.Write(bytes);
    }

    private static void WriteTag(IBufferWriter<byte> writer, int field, int wireType) => WriteVarint(writer, (uint)((field << 3) | wireType));

    private static void WriteVarint(IBufferWriter<byte> writer, uint value)
    {
        var span = writer.GetSpan(5);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        writer.Advance(i);
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
}
