using System.Runtime.InteropServices;

namespace Runtime.FlowControl.Registry;

/// <summary>
/// The controller's totals of queued requests and bytes, which every producer updates, alone on
/// their cache lines: 128 bytes of padding on each side (x64 prefetches lines in pairs), so those
/// writes do not evict the read-mostly fields every producer also reads (options, band table).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct QueuedTotals
{
    [FieldOffset(128)]
    public long Requests;

    [FieldOffset(136)]
    public long Bytes;
}

/// <summary>
/// A shard's producer-side counters (admissions in flight, sequence numbers), padded like
/// <see cref="QueuedTotals"/> so producers and the shard's dispatcher stop sharing cache lines.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct ProducerCounts
{
    [FieldOffset(128)]
    public long Pending;

    [FieldOffset(136)]
    public long Sequence;
}
