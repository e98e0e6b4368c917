using Runtime.Primitives.Buffers;
using Xunit;

namespace Runtime.Primitives.Tests;

/// <summary>The message pool keeps at most its ceiling of idle arrays and drops them all once idle.</summary>
public sealed class BoundedBytePoolTests
{
    [Fact]
    public void ReturnedArray_IsReused_ForAnyRequestOfItsSizeClass()
    {
        var pool = new BoundedBytePool(1024 * 1024, retainCeiling: 1024 * 1024);
        var first = pool.Rent(100_000);

        Assert.Equal(112 * 1024, first.Length);
        pool.Return(first);
        Assert.Equal(first.Length, pool.Retained);
        Assert.Same(first, pool.Rent(98_305)); // 96 KiB + 1: the same quarter step
        Assert.Equal(0, pool.Retained);
    }

    [Theory]
    [InlineData(1, 4096)]
    [InlineData(4096, 4096)]
    [InlineData(4097, 5 * 1024)]
    [InlineData(8192, 8192)]
    [InlineData(8193, 10 * 1024)]
    [InlineData(220_111, 224 * 1024)] // a 220 KB prompt's message
    [InlineData(229_377, 256 * 1024)]
    [InlineData(1024 * 1024, 1024 * 1024)]
    public void SizeClasses_AreQuarterStepsBetweenPowersOfTwo(int requested, int expected)
    {
        var pool = new BoundedBytePool(1024 * 1024, retainCeiling: 1024 * 1024);

        Assert.Equal(expected, pool.Rent(requested).Length);
    }

    [Fact]
    public void ArrayOfNoSizeClass_IsNotRetained()
    {
        var pool = new BoundedBytePool(1024 * 1024, retainCeiling: 1024 * 1024);

        pool.Return(new byte[100_000]);

        Assert.Equal(0, pool.Retained);
    }

    [Fact]
    public void ReturnsPastTheCeiling_AreLeftToTheGc()
    {
        var pool = new BoundedBytePool(1024 * 1024, retainCeiling: 100 * 1024);
        var arrays = Enumerable.Range(0, 5).Select(_ => pool.Rent(32 * 1024)).ToList();

        arrays.ForEach(pool.Return);

        Assert.Equal(96 * 1024, pool.Retained); // three of five fit under 100 KiB
    }

    [Fact]
    public void OversizedRequests_AreAllocated_AndNeverRetained()
    {
        var pool = new BoundedBytePool(64 * 1024, retainCeiling: 10 * 1024 * 1024);
        var big = pool.Rent(100_000);

        Assert.True(big.Length >= 100_000);
        pool.Return(big);
        Assert.Equal(0, pool.Retained);
    }

    [Fact]
    public void TrimIfIdle_DropsEverything_OnlyAfterAnIntervalWithoutRentals()
    {
        var pool = new BoundedBytePool(1024 * 1024, retainCeiling: 10 * 1024 * 1024);
        var arrays = Enumerable.Range(0, 4).Select(_ => pool.Rent(64 * 1024)).ToList();
        arrays.ForEach(pool.Return);

        Assert.Equal(0, pool.TrimIfIdle()); // rentals happened in this interval: busy, keep them
        Assert.Equal(256 * 1024, pool.Retained);
        Assert.Equal(256 * 1024, pool.TrimIfIdle()); // a whole interval without a rental
        Assert.Equal(0, pool.Retained);
    }
}
