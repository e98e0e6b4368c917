namespace Runtime.ExtProc.Codec;

/// <summary>
/// Reasons <see cref="ProcessingRequestDecoder.TryDecode"/> gives for malformed input. Constants,
/// so a bad message costs no allocation; the transport turns them into a gRPC status message.
/// </summary>
internal static class DecodeErrors
{
    public const string TruncatedVarint = "malformed protobuf: truncated varint";
    public const string VarintTooLong = "malformed protobuf: varint longer than 10 bytes";
    public const string InvalidTag = "malformed protobuf: invalid tag (field number 0 or tag over 32 bits)";
    public const string LengthPastEnd = "malformed protobuf: length-delimited field runs past the end of its message";
    public const string FixedPastEnd = "malformed protobuf: fixed-size field runs past the end of its message";
    public const string GroupsNotSupported = "malformed protobuf: group wire types (3/4) are not supported";
    public const string InvalidWireType = "malformed protobuf: invalid wire type";
}
