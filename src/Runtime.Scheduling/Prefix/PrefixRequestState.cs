namespace Runtime.Scheduling.Prefix;

/// <summary>What one prefix producer computed for the current request on this thread: the block hashes, kept for the index update after the pick.</summary>
internal sealed class PrefixRequestState(object owner)
{
    public object Owner { get; } = owner;

    public long Stamp { get; set; } = -1;

    public ulong[] Hashes { get; set; } = [];

    public int Count { get; set; }

    /// <summary>The block size the hashes were cut with (tokens).</summary>
    public int BlockSizeTokens { get; set; }

    public byte[] Scratch = new byte[128];

    public EndpointPrefixSet?[] Sets { get; set; } = [];
}
