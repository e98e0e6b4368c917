using System.Buffers;
using Runtime.ExtProc.Codec;

namespace Runtime.ExtProc.Tests.Codec;

public sealed class HeaderListTests
{
    [Fact]
    public void Add_SpanPairs_ReadBackInOrder()
    {
        var list = new HeaderList();

        list.Add(":path"u8, "/v1/chat/completions"u8);
        list.Add("content-type"u8, "application/json"u8);
        list.Add(""u8, ""u8);

        Assert.Equal(3, list.Count);
        Assert.Equal(":path"u8.ToArray(), list.GetName(0).ToArray());
        Assert.Equal("/v1/chat/completions"u8.ToArray(), list.GetValue(0).ToArray());
        Assert.Equal("content-type"u8.ToArray(), list.GetName(1).ToArray());
        Assert.Equal("application/json"u8.ToArray(), list.GetValue(1).ToArray());
        Assert.True(list.GetName(2).IsEmpty);
        Assert.True(list.GetValue(2).IsEmpty);
    }

    [Fact]
    public void Add_MultiSegmentSequences_CopiesAllBytes()
    {
        var list = new HeaderList();
        byte[] value = new byte[10_000];
        new Random(5).NextBytes(value);

        list.Add(TestSequences.Chunked("x-long"u8, 2), TestSequences.Chunked(value, 333));

        Assert.Equal("x-long"u8.ToArray(), list.GetName(0).ToArray());
        Assert.Equal(value, list.GetValue(0).ToArray());
    }

    [Theory]
    [InlineData("content-type")]
    [InlineData("Content-Type")]
    [InlineData("CONTENT-TYPE")]
    public void TryGetValue_AsciiCaseVariants_FindsFirstMatch(string name)
    {
        var list = new HeaderList();
        list.Add("accept"u8, "*/*"u8);
        list.Add("content-type"u8, "application/json"u8);
        list.Add("content-type"u8, "text/plain"u8);

        Assert.True(list.TryGetValue(System.Text.Encoding.ASCII.GetBytes(name), out ReadOnlySpan<byte> value));
        Assert.Equal("application/json"u8.ToArray(), value.ToArray());
    }

    [Theory]
    [InlineData("content-typ")]
    [InlineData("content-typf")]
    [InlineData("content_type")]
    [InlineData("")]
    public void TryGetValue_NoMatchingName_ReturnsFalse(string name)
    {
        var list = new HeaderList();
        list.Add("content-type"u8, "application/json"u8);

        Assert.False(list.TryGetValue(System.Text.Encoding.ASCII.GetBytes(name), out ReadOnlySpan<byte> value));
        Assert.True(value.IsEmpty);
    }

    [Fact]
    public void TryGetValue_NonLettersDifferingOnlyInBit5_AreNotConfused()
    {
        // '@' (0x40) and '`' (0x60), '[' and '{' differ only in the case bit but are not letters.
        var list = new HeaderList();
        list.Add("x-@["u8, "1"u8);

        Assert.False(list.TryGetValue("x-`{"u8, out _));
        Assert.True(list.TryGetValue("X-@["u8, out _));
    }

    [Fact]
    public void TryGetValue_IdenticalNonAsciiBytes_Match()
    {
        var list = new HeaderList();
        list.Add("x-ü"u8, "1"u8);

        Assert.True(list.TryGetValue("X-ü"u8, out ReadOnlySpan<byte> value));
        Assert.Equal("1"u8.ToArray(), value.ToArray());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void GetName_IndexOutOfRange_Throws(int index)
    {
        var list = new HeaderList();
        list.Add("a"u8, "b"u8);

        Assert.Throws<ArgumentOutOfRangeException>(() => list.GetName(index).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => list.GetValue(index).Length);
    }

    [Fact]
    public void Clear_AfterGrowth_KeepsStorageAndEmptiesList()
    {
        var list = new HeaderList();
        for (int i = 0; i < 100; i++)
        {
            list.Add("x-header"u8, new byte[100]);
        }

        int bytes = list.ByteCapacity;
        int entries = list.EntryCapacity;

        list.Clear();

        Assert.Equal(0, list.Count);
        Assert.Equal(bytes, list.ByteCapacity);
        Assert.Equal(entries, list.EntryCapacity);
        Assert.False(list.TryGetValue("x-header"u8, out _));
    }

    [Fact]
    public void Clear_ThenRefillToSameSize_DoesNotAllocate()
    {
        var list = new HeaderList();
        Fill(list);
        list.Clear();
        Fill(list);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 10; round++)
        {
            list.Clear();
            Fill(list);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Fill(HeaderList list)
        {
            for (int i = 0; i < 50; i++)
            {
                list.Add("x-header"u8, "some-value"u8);
            }
        }
    }

    [Fact]
    public void Release_ReturnsStorageAndListStaysUsable()
    {
        var list = new HeaderList();
        list.Add("a"u8, "b"u8);

        list.Release();

        Assert.Equal(0, list.Count);
        Assert.Equal(0, list.ByteCapacity);
        Assert.Equal(0, list.EntryCapacity);

        list.Add("c"u8, "d"u8);
        Assert.Equal("d"u8.ToArray(), list.GetValue(0).ToArray());
        list.Release();
        list.Release();
        Assert.Equal(0, list.ByteCapacity);
    }

    [Fact]
    public void Add_ManyLargeHeaders_GrowsAndKeepsEarlierEntries()
    {
        var list = new HeaderList();
        var random = new Random(17);
        var expected = new List<(byte[] Name, byte[] Value)>();
        for (int i = 0; i < 500; i++)
        {
            byte[] name = System.Text.Encoding.ASCII.GetBytes($"x-h{i}");
            byte[] value = new byte[random.Next(0, 3000)];
            random.NextBytes(value);
            expected.Add((name, value));
            list.Add(name, value);
        }

        Assert.Equal(expected.Count, list.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Name, list.GetName(i).ToArray());
            Assert.Equal(expected[i].Value, list.GetValue(i).ToArray());
        }
    }
}
