using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Text.Json;
using Runtime.Primitives.Buffers;

namespace Runtime.BodyParsing;

/// <summary>
/// Changes top-level properties of a scanned body without re-serialising it: the output is the
/// original bytes with only the edited ranges swapped (prefix + new bytes + suffix), so key
/// order, whitespace and every untouched value stay byte-identical, and the new length is known
/// before writing (for content-length). Supports replacing a value, removing a property (the
/// separating comma goes with it, whatever the position) and adding properties at the end.
/// </summary>
/// <remarks>
/// Reusable: <see cref="Begin"/> per body; new bytes are kept in one pooled scratch array, so
/// steady-state rewriting allocates nothing. A body with no edits should not be rewritten at
/// all — check <see cref="HasChanges"/> and send the original bytes.
/// Edits refer to the fields of the scanner passed to <see cref="Begin"/>; the body must stay
/// alive until the output is written. With duplicate names, edits apply to the last occurrence
/// (the effective one); removing it exposes an earlier duplicate (see <see cref="JsonField.Occurrences"/>).
/// </remarks>
public sealed class JsonBodyRewriter : IDisposable
{
    private static readonly JsonReaderOptions s_valueOptions = new() { MaxDepth = JsonBodyScanner.MaxDepth };

    private readonly int[] _replacementOffset = new int[JsonFieldSet.MaxFields];
    private readonly int[] _replacementLength = new int[JsonFieldSet.MaxFields];
    private readonly Edit[] _plan = new Edit[JsonFieldSet.MaxFields + 1];
    private (int Offset, int Length)[] _additions = new (int, int)[4];
    private JsonBodyScanner? _scan;
    private byte[] _scratch = [];
    private int _scratchUsed;
    private uint _removed;
    private uint _replaced;
    private int _additionCount;
    private int _planCount = -1; // -1: edits changed since the last plan
    private long _outputLength;
    private int _keptProperties;

    /// <summary>Whether any edit was made since <see cref="Begin"/>.</summary>
    public bool HasChanges => (_removed | _replaced) != 0 || _additionCount > 0;

    /// <summary>The length of the rewritten body.</summary>
    public long OutputLength
    {
        get
        {
            Plan();
            return _outputLength;
        }
    }

    /// <summary>Starts edits on the body just scanned (whose status must be Ok); forgets earlier edits.</summary>
    public void Begin(JsonBodyScanner scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Status != JsonBodyStatus.Ok)
        {
            ThrowNotScanned();
        }

        ResetEdits();
        _scan = scan;
    }

    /// <summary>Replaces a present field's value with raw JSON (<paramref name="json"/> must be one valid JSON value, else false).</summary>
    public bool ReplaceValue(int field, ReadOnlySpan<byte> json)
    {
        var scan = Scan;
        if (!scan[field].IsPresent || IsRemoved(field) || !IsSingleJsonValue(json))
        {
            return false;
        }

        var offset = Reserve(json.Length);
        json.CopyTo(_scratch.AsSpan(offset));
        SetReplacement(field, offset, json.Length);
        return true;
    }

    /// <summary>Replaces a present field's value with a JSON string holding <paramref name="utf8"/> (escaped here). False when absent or not UTF-8.</summary>
    public bool ReplaceWithString(int field, ReadOnlySpan<byte> utf8)
    {
        var scan = Scan;
        if (!scan[field].IsPresent || IsRemoved(field) || !JsonStringEscaper.TryGetQuotedLength(utf8, out var length))
        {
            return false;
        }

        var offset = Reserve(length);
        JsonStringEscaper.WriteQuoted(utf8, _scratch.AsSpan(offset, length));
        SetReplacement(field, offset, length);
        return true;
    }

    /// <summary>Removes a present field's property (name, value and one separating comma). False when absent.</summary>
    public bool Remove(int field)
    {
        if (!Scan[field].IsPresent)
        {
            return false;
        }

        _removed |= 1u << field;
        _replaced &= ~(1u << field);
        _planCount = -1;
        return true;
    }

    /// <summary>
    /// Adds a property at the end of the object. <paramref name="utf8Name"/> is escaped here;
    /// <paramref name="json"/> must be one valid JSON value. False when the value is invalid or the
    /// name is a field of the scanner's set that is present (replace it instead). A name outside
    /// the set cannot be checked for presence: the caller must know it is absent.
    /// </summary>
    public bool Add(ReadOnlySpan<byte> utf8Name, ReadOnlySpan<byte> json)
    {
        if (!IsSingleJsonValue(json) || !TryBeginAddition(utf8Name, json.Length, out var offset))
        {
            return false;
        }

        json.CopyTo(_scratch.AsSpan(offset));
        return true;
    }

    /// <summary>Adds a string property at the end of the object; see <see cref="Add"/>.</summary>
    public bool AddString(ReadOnlySpan<byte> utf8Name, ReadOnlySpan<byte> utf8Value)
    {
        if (!JsonStringEscaper.TryGetQuotedLength(utf8Value, out var length) || !TryBeginAddition(utf8Name, length, out var offset))
        {
            return false;
        }

        JsonStringEscaper.WriteQuoted(utf8Value, _scratch.AsSpan(offset, length));
        return true;
    }

    /// <summary>Writes the rewritten body to <paramref name="sink"/> (original slices and new bytes, in order).</summary>
    public void WriteTo<TSink>(ref TSink sink)
        where TSink : IJsonByteSink, allows ref struct
    {
        var body = Scan.Body;
        Plan();
        long position = 0;
        for (var i = 0; i < _planCount; i++)
        {
            ref readonly var edit = ref _plan[i];
            WriteOriginal(ref sink, body, position, edit.Start);
            if (edit.IsAddition)
            {
                WriteAdditions(ref sink);
            }
            else if (edit.Length > 0)
            {
                sink.Write(_scratch.AsSpan(edit.Offset, edit.Length));
            }

            position = edit.End;
        }

        WriteOriginal(ref sink, body, position, body.Length);
    }

    public void WriteTo(IBufferWriter<byte> writer)
    {
        var sink = new BufferWriterSink(writer);
        WriteTo(ref sink);
    }

    /// <summary>Copies the rewritten body into <paramref name="destination"/>; returns the length, or -1 when it does not fit.</summary>
    public int CopyTo(Span<byte> destination)
    {
        if (destination.Length < OutputLength)
        {
            return -1;
        }

        var sink = new SpanSink(destination);
        WriteTo(ref sink);
        return sink.Written;
    }

    /// <summary>Forgets the scanner and the edits; keeps the scratch array for the next body.</summary>
    public void Reset()
    {
        ResetEdits();
        _scan = null;
    }

    public void Dispose()
    {
        Reset();
        if (_scratch.Length > 0)
        {
            PooledBuffers.Return(_scratch);
            _scratch = [];
        }
    }

    private JsonBodyScanner Scan => _scan ?? ThrowNotStarted();

    private bool IsRemoved(int field) => (_removed & (1u << field)) != 0;

    private void ResetEdits()
    {
        _removed = _replaced = 0;
        _additionCount = 0;
        _scratchUsed = 0;
        _planCount = -1;
    }

    private void SetReplacement(int field, int offset, int length)
    {
        _replacementOffset[field] = offset;
        _replacementLength[field] = length;
        _replaced |= 1u << field;
        _planCount = -1;
    }

    private bool TryBeginAddition(ReadOnlySpan<byte> utf8Name, int valueLength, out int valueOffset)
    {
        valueOffset = 0;
        var scan = Scan;
        for (var i = 0; i < scan.Fields.Count; i++)
        {
            if (scan[i].IsPresent && !IsRemoved(i) && utf8Name.SequenceEqual(scan.Fields.GetUtf8Name(i)))
            {
                return false;
            }
        }

        if (!JsonStringEscaper.TryGetQuotedLength(utf8Name, out var nameLength))
        {
            return false;
        }

        // Stored as "name":value; the separating comma is decided when planning, once removals are known.
        var offset = Reserve(nameLength + 1 + valueLength);
        JsonStringEscaper.WriteQuoted(utf8Name, _scratch.AsSpan(offset, nameLength));
        _scratch[offset + nameLength] = (byte)':';
        valueOffset = offset + nameLength + 1;
        if (_additionCount == _additions.Length)
        {
            Array.Resize(ref _additions, _additions.Length * 2);
        }

        _additions[_additionCount++] = (offset, nameLength + 1 + valueLength);
        _planCount = -1;
        return true;
    }

    private int Reserve(int length)
    {
        if (_scratch.Length - _scratchUsed < length)
        {
            var larger = PooledBuffers.Rent(Math.Max(256, Math.Max(_scratch.Length * 2, _scratchUsed + length)));
            _scratch.AsSpan(0, _scratchUsed).CopyTo(larger);
            if (_scratch.Length > 0)
            {
                PooledBuffers.Return(_scratch);
            }

            _scratch = larger;
        }

        var offset = _scratchUsed;
        _scratchUsed += length;
        return offset;
    }

    /// <summary>
    /// Turns the edits into byte ranges of the original, sorted and disjoint. Removed properties
    /// are grouped into runs of neighbours; a run takes the comma before it (after the previous
    /// property's value), or, when it starts the object, everything up to the next property's
    /// name; a run that is the whole object leaves just the braces. Additions go after the last
    /// property's value (the brace when the object is empty), with commas only between kept and
    /// added properties.
    /// </summary>
    private void Plan()
    {
        if (_planCount >= 0)
        {
            return;
        }

        var scan = Scan;
        var count = 0;
        long removedBytes = 0;
        long addedBytes = 0;

        Span<int> removed = stackalloc int[JsonFieldSet.MaxFields];
        var removedCount = 0;
        for (var bits = _removed; bits != 0; bits &= bits - 1)
        {
            var field = BitOperations.TrailingZeroCount(bits);
            var at = removedCount++;
            while (at > 0 && scan[removed[at - 1]].PropertyIndex > scan[field].PropertyIndex)
            {
                removed[at] = removed[at - 1];
                at--;
            }

            removed[at] = field;
        }

        for (var i = 0; i < removedCount; i++)
        {
            ref readonly var first = ref scan[removed[i]];
            while (i + 1 < removedCount && scan[removed[i + 1]].PropertyIndex == scan[removed[i]].PropertyIndex + 1)
            {
                i++;
            }

            ref readonly var last = ref scan[removed[i]];
            var (start, end) =
                first.PreviousValueEnd >= 0 ? (first.PreviousValueEnd, last.ValueEnd)
                : last.NextNameStart >= 0 ? (first.NameStart, last.NextNameStart)
                : (first.NameStart, last.ValueEnd);
            _plan[count++] = new Edit(start, end, 0, 0, isAddition: false);
            removedBytes += end - start;
        }

        for (var bits = _replaced; bits != 0; bits &= bits - 1)
        {
            var field = BitOperations.TrailingZeroCount(bits);
            ref readonly var result = ref scan[field];
            _plan[count++] = new Edit(result.ValueStart, result.ValueEnd, _replacementOffset[field], _replacementLength[field], isAddition: false);
            removedBytes += result.ValueLength;
            addedBytes += _replacementLength[field];
        }

        if (_additionCount > 0)
        {
            var at = scan.PropertyCount > 0 ? scan.LastValueEnd : scan.ObjectEnd;
            _plan[count++] = new Edit(at, at, 0, 0, isAddition: true);
            addedBytes += AdditionsLength(scan.PropertyCount - removedCount);
        }

        // Few edits: insertion sort. Starts are distinct except a removal ending where an addition begins.
        for (var i = 1; i < count; i++)
        {
            var edit = _plan[i];
            var j = i;
            while (j > 0 && (_plan[j - 1].Start > edit.Start || (_plan[j - 1].Start == edit.Start && _plan[j - 1].IsAddition)))
            {
                _plan[j] = _plan[j - 1];
                j--;
            }

            _plan[j] = edit;
        }

        _keptProperties = scan.PropertyCount - removedCount;
        _outputLength = scan.Body.Length - removedBytes + addedBytes;
        _planCount = count;
    }

    private long AdditionsLength(int keptProperties)
    {
        long length = 0;
        for (var i = 0; i < _additionCount; i++)
        {
            length += _additions[i].Length + (i > 0 || keptProperties > 0 ? 1 : 0);
        }

        return length;
    }

    private void WriteAdditions<TSink>(ref TSink sink)
        where TSink : IJsonByteSink, allows ref struct
    {
        for (var i = 0; i < _additionCount; i++)
        {
            if (i > 0 || _keptProperties > 0)
            {
                sink.Write(","u8);
            }

            var (offset, length) = _additions[i];
            sink.Write(_scratch.AsSpan(offset, length));
        }
    }

    private static void WriteOriginal<TSink>(ref TSink sink, in ReadOnlySequence<byte> body, long from, long to)
        where TSink : IJsonByteSink, allows ref struct
    {
        if (to <= from)
        {
            return;
        }

        foreach (var memory in body.Slice(from, to - from))
        {
            sink.Write(memory.Span);
        }
    }

    /// <summary>Whether <paramref name="json"/> is exactly one well-formed JSON value (what a caller may splice in).</summary>
    private static bool IsSingleJsonValue(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, isFinalBlock: true, new JsonReaderState(s_valueOptions));
        try
        {
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [DoesNotReturn]
    private static void ThrowNotScanned() =>
        throw new InvalidOperationException("The scanner's last scan did not succeed; only a well-formed object can be rewritten.");

    [DoesNotReturn]
    private static JsonBodyScanner ThrowNotStarted() =>
        throw new InvalidOperationException("Call Begin with a scanner before editing.");

    private readonly struct Edit(long start, long end, int offset, int length, bool isAddition)
    {
        public long Start { get; } = start;

        public long End { get; } = end;

        public int Offset { get; } = offset;

        public int Length { get; } = length;

        public bool IsAddition { get; } = isAddition;
    }
}
