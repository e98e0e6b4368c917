using System.Text.Json;
using Runtime.ControlPlane.Kube;
using Runtime.ControlPlane.Kubernetes.Api;
using Runtime.ControlPlane.World;

namespace Runtime.Fuzz.Targets;

/// <summary>
/// What the Kubernetes source reads from the API server: a watch body split into lines as it
/// arrives (LineReader), each line a JSON event whose <c>object</c> (or a list's <c>items</c>) is
/// decoded by ResourceDecoder for every kind we watch. Documented failures: InvalidDataException
/// (a line over the cap) and JsonException (a malformed line; the watch is restarted). Invariants:
/// nothing else escapes; the lines returned are exactly the body's lines; a decoded resource has
/// a name and a namespace.
/// </summary>
internal static class KubeWatchTarget
{
    private const int MaxLineBytes = 64 * 1024;
    private static readonly ResourceKind?[] s_hints = [null, .. Enum.GetValues<ResourceKind>().Cast<ResourceKind?>()];

    public static void Run(byte[] input)
    {
        List<byte[]> lines;
        try
        {
            lines = ReadLines(input);
        }
        catch (InvalidDataException)
        {
            FuzzAssert.True(input.Length > MaxLineBytes, "a line over the cap reported for a short body");
            return;
        }

        var expected = input.Length == 0 ? 0 : input.Count(b => b == (byte)'\n') + (input[^1] == (byte)'\n' ? 0 : 1);
        FuzzAssert.True(lines.Count == expected, $"read {lines.Count} lines, the body has {expected}");
        foreach (var line in lines)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException)
            {
                continue;
            }

            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                if (root.TryGetProperty("object", out var obj))
                {
                    Decode(obj);
                }

                if (root.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in items.EnumerateArray())
                    {
                        Decode(item);
                    }
                }

                Decode(root);
            }
        }
    }

    private static void Decode(JsonElement obj)
    {
        foreach (var hint in s_hints)
        {
            if (ResourceDecoder.TryDecode(obj, "default", out var resource, out var error, hint))
            {
                if (resource is not null)
                {
                    FuzzAssert.True(!string.IsNullOrEmpty(resource.Meta.Name) && !string.IsNullOrEmpty(resource.Meta.Namespace), "a decoded resource without name or namespace");
                }
            }
            else
            {
                FuzzAssert.True(!string.IsNullOrEmpty(error), "a rejected object without a reason");
            }
        }
    }

    private static List<byte[]> ReadLines(byte[] input)
    {
        var lines = new List<byte[]>();
        using var reader = new LineReader(new ChunkedStream(input), MaxLineBytes);
        while (reader.ReadLineAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } line)
        {
            lines.Add(line.ToArray());
        }

        return lines;
    }

    /// <summary>Hands the body out in the chunk sizes <see cref="Segments"/> derives from it, as a socket would.</summary>
    private sealed class ChunkedStream(byte[] bytes) : Stream
    {
        private readonly IEnumerator<ReadOnlyMemory<byte>> _chunks = Segments.Chunks(bytes).GetEnumerator();
        private ReadOnlyMemory<byte> _current;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_current.IsEmpty)
            {
                if (!_chunks.MoveNext())
                {
                    return 0;
                }

                _current = _chunks.Current;
            }

            var n = Math.Min(buffer.Length, _current.Length);
            _current.Span[..n].CopyTo(buffer);
            _current = _current[n..];
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
