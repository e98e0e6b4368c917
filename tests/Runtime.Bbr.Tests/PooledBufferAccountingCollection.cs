using Xunit;

namespace Runtime.Bbr.Tests;

/// <summary>
/// Tests that compare <see cref="Runtime.Primitives.Buffers.PooledBuffers.Outstanding"/> before and
/// after: every renter in the process counts there, so these run with no other test beside them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PooledBufferAccountingCollection
{
    public const string Name = "pooled buffer accounting";
}
