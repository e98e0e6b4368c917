using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Runtime.Proto.Envoy.Config.Core.V3;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using BodySendModeProto = Runtime.Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode;

namespace Runtime.ExtProc.Tests.Codec;

/// <summary>Random Google.Protobuf messages (the oracle side of the property tests), driven by a seeded <see cref="Random"/>.</summary>
internal sealed class RandomProto(Random random)
{
    private static readonly string[] s_realisticNames =
    [
        ":path", ":method", ":authority", ":scheme", ":status", "content-type", "content-length",
        "user-agent", "accept", "x-request-id", "x-forwarded-for", "x-envoy-expected-rq-timeout-ms",
        "authorization", "cookie", "x-gateway-model-name", "traceparent",
    ];

    public Random Random { get; } = random;

    /// <summary>Probability (0..1) that each generated sub-message carries injected unknown fields.</summary>
    public double UnknownFieldRate { get; set; }

    /// <summary>Upper bound for body sizes; a few bodies get close to it.</summary>
    public int MaxBodySize { get; set; } = 200 * 1024;

    /// <summary>Upper bound for header counts.</summary>
    public int MaxHeaders { get; set; } = 40;

    public ProcessingRequest Request()
    {
        var request = new ProcessingRequest();
        switch (Random.Next(7))
        {
            case 0: request.RequestHeaders = HttpHeaders(); break;
            case 1: request.ResponseHeaders = HttpHeaders(); break;
            case 2: request.RequestBody = HttpBody(); break;
            case 3: request.ResponseBody = HttpBody(); break;
            case 4: request.RequestTrailers = HttpTrailers(); break;
            case 5: request.ResponseTrailers = HttpTrailers(); break;
            default: break; // no oneof member at all
        }

        if (Chance(0.3))
        {
            request.MetadataContext = Metadata();
        }

        if (Chance(0.2))
        {
            int count = Random.Next(1, 4);
            for (int i = 0; i < count; i++)
            {
                request.Attributes[String(1, 20, unicode: false)] = Struct(depth: 2);
            }
        }

        request.ObservabilityMode = Chance(0.2);
        if (Chance(0.3))
        {
            request.ProtocolConfig = WithUnknownFields(new ProtocolConfiguration
            {
                RequestBodyMode = BodySendMode(),
                ResponseBodyMode = BodySendMode(),
                SendBodyWithoutWaitingForHeaderResponse = Chance(0.5),
            });
        }

        return WithUnknownFields(request);
    }

    public HttpHeaders HttpHeaders() => WithUnknownFields(new HttpHeaders
    {
        Headers = Chance(0.9) ? HeaderMap() : null,
        EndOfStream = Chance(0.3),
    });

    public HttpTrailers HttpTrailers() => WithUnknownFields(new HttpTrailers { Trailers = Chance(0.9) ? HeaderMap() : null });

    public HttpBody HttpBody() => WithUnknownFields(new HttpBody
    {
        Body = ByteString.CopyFrom(Bytes(BodySize())),
        EndOfStream = Chance(0.4),
    });

    public HeaderMap HeaderMap()
    {
        var map = new HeaderMap();
        int count = Chance(0.1) ? 0 : Random.Next(1, MaxHeaders + 1);
        for (int i = 0; i < count; i++)
        {
            map.Headers.Add(HeaderValue());
        }

        return WithUnknownFields(map);
    }

    public HeaderValue HeaderValue()
    {
        var header = new HeaderValue { Key = HeaderName() };
        switch (Random.Next(10))
        {
            case < 6: header.RawValue = ByteString.CopyFrom(HeaderBytes()); break;
            case < 8: header.Value = String(0, 60, unicode: Chance(0.3)); break;
            case 8:
                header.Value = String(0, 30, unicode: true);
                header.RawValue = ByteString.CopyFrom(HeaderBytes());
                break;
            default: break; // neither: an empty value
        }

        return WithUnknownFields(header);
    }

    public Metadata Metadata()
    {
        var metadata = new Metadata();
        int count = Random.Next(0, 4);
        for (int i = 0; i < count; i++)
        {
            metadata.FilterMetadata[String(1, 30, unicode: false)] = Struct(depth: 2);
        }

        return metadata;
    }

    public Struct Struct(int depth)
    {
        var result = new Struct();
        int count = Random.Next(0, 5);
        for (int i = 0; i < count; i++)
        {
            result.Fields[String(0, 15, unicode: Chance(0.2))] = Value(depth);
        }

        return result;
    }

    public string HeaderName() => Random.Next(10) switch
    {
        < 4 => s_realisticNames[Random.Next(s_realisticNames.Length)],
        4 => string.Empty,
        5 => String(1, 20, unicode: true),
        _ => String(1, 40, unicode: false).ToLowerInvariant(),
    };

    /// <summary>Header bytes: mostly short printable, sometimes binary or non-ASCII, rarely large.</summary>
    public byte[] HeaderBytes()
    {
        int length = Random.Next(20) == 0 ? Random.Next(0, 5000) : Random.Next(0, 100);
        byte[] bytes = Bytes(length);
        if (Chance(0.7))
        {
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)(0x20 + (bytes[i] % 0x5F));
            }
        }

        return bytes;
    }

    public int BodySize()
    {
        int size = Random.Next(100) switch
        {
            < 10 => 0,
            < 70 => Random.Next(1, 1024),
            < 95 => Random.Next(1024, 16 * 1024),
            _ => Random.Next(16 * 1024, 200 * 1024 + 1),
        };
        return Math.Min(size, MaxBodySize);
    }

    public byte[] Bytes(int length)
    {
        byte[] bytes = new byte[length];
        Random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A valid string (no lone surrogates), ASCII or with BMP and astral characters.</summary>
    public string String(int minLength, int maxLength, bool unicode)
    {
        int length = Random.Next(minLength, maxLength + 1);
        var builder = new StringBuilder(length);
        for (int i = 0; i < length; i++)
        {
            if (!unicode || Chance(0.5))
            {
                builder.Append((char)Random.Next(0x21, 0x7F));
            }
            else
            {
                int codePoint = Random.Next(3) switch
                {
                    0 => Random.Next(0xA0, 0x800),
                    1 => Random.Next(0x800, 0xD800),
                    _ => Random.Next(0x10000, 0x10FFFF),
                };
                builder.Append(char.ConvertFromUtf32(codePoint));
            }
        }

        return builder.ToString();
    }

    public bool Chance(double probability) => Random.NextDouble() < probability;

    /// <summary>
    /// With probability <see cref="UnknownFieldRate"/>, re-parses <paramref name="message"/> with
    /// extra unknown fields appended; Google.Protobuf keeps and re-serialises them, so they end
    /// up at this nesting level of the final encoding.
    /// </summary>
    public T WithUnknownFields<T>(T message)
        where T : IMessage<T>, new()
    {
        if (!Chance(UnknownFieldRate))
        {
            return message;
        }

        var bytes = new List<byte>(message.ToByteArray());
        int count = Random.Next(1, 4);
        for (int i = 0; i < count; i++)
        {
            bytes.AddRange(UnknownField(message.Descriptor));
        }

        var result = new T();
        result.MergeFrom(bytes.ToArray());
        return result;
    }

    /// <summary>
    /// One field that <paramref name="descriptor"/> does not know: a new field number, or a known
    /// number with a wire type that does not match its declaration (which protobuf also skips).
    /// </summary>
    public byte[] UnknownField(MessageDescriptor descriptor)
    {
        while (true)
        {
            int fieldNumber = Random.Next(3) switch
            {
                0 => Random.Next(1, 16),
                1 => Random.Next(16, 2048),
                _ => Random.Next(2048, (1 << 29) - 1),
            };
            int wireType = Random.Next(4) switch { 0 => 0, 1 => 1, 2 => 2, _ => 5 };
            FieldDescriptor? known = descriptor.FindFieldByNumber(fieldNumber);
            if (known is not null && ExpectedWireType(known) == wireType)
            {
                continue;
            }

            var output = new List<byte>();
            AppendVarint(output, ((ulong)fieldNumber << 3) | (uint)wireType);
            switch (wireType)
            {
                case 0:
                    AppendVarint(output, Random.Next(3) == 0 ? ulong.MaxValue : (ulong)Random.NextInt64());
                    break;
                case 1:
                    output.AddRange(Bytes(8));
                    break;
                case 2:
                    byte[] payload = Bytes(Random.Next(0, 300));
                    AppendVarint(output, (ulong)payload.Length);
                    output.AddRange(payload);
                    break;
                default:
                    output.AddRange(Bytes(4));
                    break;
            }

            return [.. output];
        }
    }

    public static void AppendVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }

    private static int ExpectedWireType(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Message or FieldType.String or FieldType.Bytes or FieldType.Group => 2,
        FieldType.Fixed64 or FieldType.SFixed64 or FieldType.Double => 1,
        FieldType.Fixed32 or FieldType.SFixed32 or FieldType.Float => 5,
        _ => 0,
    };

    private BodySendModeProto BodySendMode() => Random.Next(10) switch
    {
        < 8 => (BodySendModeProto)Random.Next(0, 5),
        8 => (BodySendModeProto)Random.Next(5, 256),
        _ => (BodySendModeProto)(Random.Next(2) == 0 ? Random.Next(256, int.MaxValue) : -Random.Next(1, 1000)),
    };

    private Value Value(int depth) => Random.Next(depth > 0 ? 7 : 5) switch
    {
        0 => Google.Protobuf.WellKnownTypes.Value.ForString(String(0, 20, unicode: Chance(0.3))),
        1 => Google.Protobuf.WellKnownTypes.Value.ForNumber(Random.NextDouble() * 1e6),
        2 => Google.Protobuf.WellKnownTypes.Value.ForBool(Chance(0.5)),
        3 => Google.Protobuf.WellKnownTypes.Value.ForNull(),
        4 => Google.Protobuf.WellKnownTypes.Value.ForString(string.Empty),
        5 => Google.Protobuf.WellKnownTypes.Value.ForStruct(Struct(depth - 1)),
        _ => Google.Protobuf.WellKnownTypes.Value.ForList(Value(depth - 1), Value(depth - 1)),
    };
}
