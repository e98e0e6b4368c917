namespace Runtime.ExtProc.Tests;

/// <summary>
/// Tests that compare <see cref="Runtime.Primitives.Buffers.PooledBuffers.Outstanding"/> before and
/// after a call. Every renter in the process counts there (codec tests included), so these run
/// with no other test of the assembly beside them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PooledBufferAccountingCollection
{
    public const string Name = "pooled buffer accounting";
}
