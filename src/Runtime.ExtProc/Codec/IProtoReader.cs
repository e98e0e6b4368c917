using System.Buffers;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// What the request parser needs from its input. Two ref-struct implementations exist, one over a
/// contiguous span (<see cref="SpanProtoReader"/>) and one over a multi-segment sequence
/// (<see cref="SequenceProtoReader"/>); the parser is generic over them so the JIT/AOT compiler
/// emits one specialised copy per reader with no interface dispatch.
/// </summary>
/// <remarks>
/// Every read is bounded by the current limit (the end of the message being parsed; see
/// <see cref="TryPushLimit"/>). Failing methods record a constant reason in <see cref="Error"/>
/// and return false; nothing throws on malformed input.
/// </remarks>
internal interface IProtoReader
{
    /// <summary>Why the last failing call failed.</summary>
    string? Error { get; }

    /// <summary>True while bytes remain before the current limit.</summary>
    bool HasMore { get; }

    bool TryReadVarint(out ulong value);

    bool TrySkip(ulong count, string errorIfPastEnd);

    /// <summary>Narrows reads to the next <paramref name="length"/> bytes (a nested message).</summary>
    bool TryPushLimit(ulong length, out long previousLimit);

    /// <summary>Restores the limit saved by <see cref="TryPushLimit"/> once the nested message is consumed.</summary>
    void PopLimit(long previousLimit);

    /// <summary>Returns the next <paramref name="length"/> bytes as a slice of the input, without copying.</summary>
    bool TryReadSlice(ulong length, out ReadOnlySequence<byte> slice);

    /// <summary>Parses the next <paramref name="length"/> bytes as an <c>envoy.config.core.v3.HeaderValue</c> and appends it.</summary>
    bool TryReadHeaderValue(ulong length, HeaderList into);

    /// <summary>Records <paramref name="error"/> and returns false.</summary>
    bool Fail(string error);
}
