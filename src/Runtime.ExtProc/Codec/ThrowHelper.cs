using System.Diagnostics.CodeAnalysis;

namespace Runtime.ExtProc.Codec;

/// <summary>Keeps throw sites out of hot methods so those stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName) =>
        throw new ArgumentOutOfRangeException(paramName);

    [DoesNotReturn]
    public static void ThrowInvalidOperation(string message) =>
        throw new InvalidOperationException(message);

    [DoesNotReturn]
    public static void ThrowTooLarge(string what) =>
        throw new InvalidOperationException($"{what} exceeds the maximum size of a protobuf message (2 GiB).");

    [DoesNotReturn]
    public static void ThrowBufferWriterTooSmall() =>
        throw new InvalidOperationException("IBufferWriter<byte>.GetSpan returned less than the requested size.");
}
