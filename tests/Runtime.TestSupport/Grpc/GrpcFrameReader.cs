using System.Buffers.Binary;

namespace Runtime.TestSupport.Grpc;

/// <summary>Reads gRPC length-prefixed messages from a response stream as they arrive.</summary>
internal sealed class GrpcFrameReader(Stream stream, int maxMessageBytes)
{
    private readonly byte[] _prefix = new byte[GrpcFraming.PrefixLength];

    /// <summary>Returns the next frame, or null when the stream ends cleanly on a frame boundary.</summary>
    public async ValueTask<GrpcFrame?> ReadAsync(CancellationToken cancellationToken)
    {
        var read = await stream.ReadAtLeastAsync(_prefix, _prefix.Length, throwOnEndOfStream: false, cancellationToken);
        if (read == 0)
        {
            return null;
        }

        if (read < _prefix.Length)
        {
            throw new InvalidDataException($"Response ended inside a gRPC prefix ({read} of 5 bytes).");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(_prefix.AsSpan(1));
        if (length > (uint)maxMessageBytes)
        {
            throw new InvalidDataException($"Response message of {length} bytes exceeds the client limit of {maxMessageBytes}.");
        }

        var payload = new byte[length];
        read = await stream.ReadAtLeastAsync(payload, payload.Length, throwOnEndOfStream: false, cancellationToken);
        if (read < payload.Length)
        {
            throw new InvalidDataException($"Response ended inside a gRPC message ({read} of {length} bytes).");
        }

        return new GrpcFrame(_prefix[0], payload);
    }
}
