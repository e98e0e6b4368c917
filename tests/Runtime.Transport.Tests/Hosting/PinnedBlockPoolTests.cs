using System.Buffers;
using Runtime.Transport.Hosting;
using Xunit;

namespace Runtime.Transport.Tests.Hosting;

public sealed class PinnedBlockPoolTests
{
    [Fact]
    public void Rent_GivesWholeBlocks_AndReusesReturnedOnes()
    {
        using var pool = new PinnedBlockPool(PinnedBlockPool.SocketBlockSize, retainCeiling: 1 << 20, trimOnTimer: false);

        var first = pool.Rent(100);
        Assert.Equal(PinnedBlockPool.SocketBlockSize, first.Memory.Length);
        Assert.Equal(1, pool.Rented);
        first.Memory.Span[0] = 42;
        first.Dispose();
        Assert.Equal(0, pool.Rented);
        Assert.Equal(PinnedBlockPool.SocketBlockSize, pool.RetainedBytes);

        using var second = pool.Rent();
        Assert.Equal(42, second.Memory.Span[0]);
        Assert.Equal(0, pool.RetainedBytes);
    }

    [Fact]
    public void Rent_GivesTheMostRecentlyReturnedBlockFirst()
    {
        // The block given back last is the one still in the CPU's cache: reuse it first.
        using var pool = new PinnedBlockPool(4096, retainCeiling: 1 << 20, trimOnTimer: false);
        var blocks = Enumerable.Range(0, 3).Select(_ => pool.Rent()).ToList();
        for (var i = 0; i < blocks.Count; i++)
        {
            blocks[i].Memory.Span[0] = (byte)(i + 1);
            blocks[i].Dispose();
        }

        Assert.Equal(3, pool.Rent().Memory.Span[0]);
        Assert.Equal(2, pool.Rent().Memory.Span[0]);
        Assert.Equal(1, pool.Rent().Memory.Span[0]);
    }

    [Fact]
    public void Rent_MoreThanABlock_Refused()
    {
        using var pool = new PinnedBlockPool(4096, retainCeiling: 0, trimOnTimer: false);

        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(4097));
    }

    [Fact]
    public void Return_PastTheCeiling_IsLeftToTheGc()
    {
        using var pool = new PinnedBlockPool(4096, retainCeiling: 2 * 4096, trimOnTimer: false);
        var blocks = Enumerable.Range(0, 5).Select(_ => pool.Rent()).ToList();

        blocks.ForEach(b => b.Dispose());

        Assert.Equal(0, pool.Rented);
        Assert.Equal(2 * 4096, pool.RetainedBytes);
    }

    [Fact]
    public void Dispose_Twice_ReturnsTheBlockOnce()
    {
        using var pool = new PinnedBlockPool(4096, retainCeiling: 1 << 20, trimOnTimer: false);
        var block = pool.Rent();

        block.Dispose();
        block.Dispose();

        Assert.Equal(4096, pool.RetainedBytes);
        using var a = pool.Rent();
        using var b = pool.Rent();
        Assert.NotEqual(a.Memory, b.Memory);
    }

    [Fact]
    public void Trim_KeepsWhatTheLastIntervalNeeded_ThenDropsEverythingWhenIdle()
    {
        using var pool = new PinnedBlockPool(4096, retainCeiling: 1 << 20, trimOnTimer: false);

        // A burst of 8 blocks, of which 2 are still held.
        var burst = Enumerable.Range(0, 8).Select(_ => pool.Rent()).ToList();
        burst.Skip(2).ToList().ForEach(b => b.Dispose());
        Assert.Equal(6 * 4096, pool.RetainedBytes);

        // The interval that saw the burst keeps enough idle blocks to serve it again.
        Assert.Equal(0, pool.Trim());
        Assert.Equal(6 * 4096, pool.RetainedBytes);

        // A quiet interval (peak = the 2 still held) drops all idle blocks.
        Assert.Equal(6 * 4096, pool.Trim());
        Assert.Equal(0, pool.RetainedBytes);
        Assert.Equal(2, pool.Rented);

        // The last two come back: kept one interval (they were in use in it), then dropped.
        burst.Take(2).ToList().ForEach(b => b.Dispose());
        Assert.Equal(0, pool.Trim());
        Assert.Equal(2 * 4096, pool.Trim());
        Assert.Equal(0, pool.RetainedBytes);
    }

    [Fact]
    public void Trim_UnderSteadyUse_KeepsTheWorkingSet()
    {
        using var pool = new PinnedBlockPool(4096, retainCeiling: 1 << 20, trimOnTimer: false);

        for (var interval = 0; interval < 3; interval++)
        {
            // Each interval: 4 blocks in use at once, then given back.
            var blocks = Enumerable.Range(0, 4).Select(_ => pool.Rent()).ToList();
            blocks.ForEach(b => b.Dispose());
            pool.Trim();
            Assert.Equal(4 * 4096, pool.RetainedBytes);
        }
    }

    [Fact]
    public void Factory_SumsItsPools()
    {
        var factory = new SocketBlockPoolFactory(retainCeiling: 1 << 20);
        using var one = factory.Create();
        using var two = factory.Create();

        var a = one.Rent();
        using var b = two.Rent();
        a.Dispose();

        Assert.Equal(PinnedBlockPool.SocketBlockSize, factory.InUseBytes);
        Assert.Equal(PinnedBlockPool.SocketBlockSize, factory.IdleBytes);
    }
}
