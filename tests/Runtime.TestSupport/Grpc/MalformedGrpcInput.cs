using Google.Protobuf;

namespace Runtime.TestSupport.Grpc;

/// <summary>
/// A catalogue of broken gRPC request bodies, shared by the end-to-end bad-input tests and
/// the oracle test that proves each garbage payload really is invalid protobuf.
/// </summary>
public static class MalformedGrpcInput
{
    /// <summary>
    /// Message payloads that no protobuf parser may accept, by name. Each is structurally
    /// invalid (not merely unknown fields, which parsers must skip).
    /// </summary>
    public static IReadOnlyDictionary<string, byte[]> GarbagePayloads { get; } = new Dictionary<string, byte[]>
    {
        // field 1, wire type 7: no such wire type.
        ["invalid-wire-type"] = [0x0F, 0x01, 0x02],

        // field 0 is never valid.
        ["field-number-zero"] = [0x00, 0x01],

        // field 2 (request_headers) declares 127 bytes, 2 follow.
        ["length-past-end"] = [0x12, 0x7F, 0x01, 0x02],

        // field 10 (observability_mode) varint of 11 bytes: longer than any 64-bit varint.
        ["overlong-varint"] = [0x50, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],

        // field 4 (request_body) length-delimited, then the payload stops inside the length varint.
        ["truncated-length-varint"] = [0x22, 0x80],

        // request_headers holding an HttpHeaders whose first tag has wire type 7.
        ["nested-invalid-wire-type"] = [0x12, 0x03, 0x0F, 0x00, 0x00],

        // field 1, END_GROUP with no START_GROUP.
        ["unmatched-end-group"] = [0x0C],
    };

    public static IEnumerable<object[]> GarbagePayloadNames => GarbagePayloads.Keys.Select(k => new object[] { k });

    /// <summary>A well-formed message sent with the compressed flag set (the payload itself is not compressed).</summary>
    public static byte[] CompressedFlag(IMessage message, byte flag = 1) => GrpcFraming.Encode(message.ToByteArray(), flag);

    /// <summary>A prefix announcing <paramref name="declaredLength"/> bytes followed by only a few.</summary>
    public static byte[] OversizeLengthPrefix(uint declaredLength) =>
        GrpcFraming.EncodeWithDeclaredLength([0x12, 0x00], declaredLength);

    /// <summary>A final frame whose prefix promises more payload than the body holds before END_STREAM.</summary>
    public static byte[] TruncatedPayload(IMessage message, int missingBytes = 1)
    {
        var payload = message.ToByteArray();
        ArgumentOutOfRangeException.ThrowIfGreaterThan(missingBytes, payload.Length);
        return GrpcFraming.EncodeWithDeclaredLength(payload.AsSpan(0, payload.Length - missingBytes), (uint)payload.Length);
    }

    /// <summary>A body that ends inside the 5-byte prefix.</summary>
    public static byte[] TruncatedPrefix() => [0x00, 0x00, 0x00];
}
