using System.Buffers;
using System.Text;
using Grpc.Core;
using Runtime.Primitives.Wire;

namespace Runtime.Transport.Health;

/// <summary><c>grpc.health.v1.HealthCheckRequest{string service = 1}</c>.</summary>
internal sealed class HealthCheckRequest
{
    public string Service { get; init; } = string.Empty;
}

/// <summary><c>grpc.health.v1.HealthCheckResponse{ServingStatus status = 1}</c>; one shared instance per status.</summary>
internal sealed class HealthCheckResponse
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
internal sealed class HealthListRequest
{
    public static HealthListRequest Instance { get; } = new();
}

/// <summary><c>grpc.health.v1.HealthListResponse{map&lt;string, HealthCheckResponse&gt; statuses = 1}</c>.</summary>
internal sealed class HealthListResponse
{
    public IReadOnlyList<KeyValuePair<string, ServingStatus>> Statuses { get; init; } = [];
}

/// <summary>
/// Protobuf coding of the four health messages. They are tiny (a string, an enum, a map of
/// them), so they are coded by hand rather than through generated code.
/// </summary>
internal static class HealthMessages
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
            if (!WireFormat.TryReadField(bytes, ref i, out var field, out var wireType, out var payload, out _))
            {
                return false;
            }

            if (field == 1 && wireType == WireFormat.WireTypeLengthDelimited)
            {
                service = Encoding.UTF8.GetString(bytes.Slice(payload.Start, payload.Length));
            }
        }

        return true;
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
            WireFormat.WriteTag(entry, 2, WireFormat.WireTypeLengthDelimited);
            WireFormat.WriteVarint(entry, (uint)value.Length);
            entry.Write(value);
            WireFormat.WriteTag(writer, 1, WireFormat.WireTypeLengthDelimited);
            WireFormat.WriteVarint(writer, (uint)entry.WrittenCount);
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
        WireFormat.WriteTag(writer, field, WireFormat.WireTypeLengthDelimited);
        WireFormat.WriteVarint(writer, (uint)bytes.Length);
        writer.Write(bytes);
    }
}
