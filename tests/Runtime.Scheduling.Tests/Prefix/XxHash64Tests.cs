using System.IO.Hashing;
using System.Text;

namespace Runtime.Scheduling.Tests.Prefix;

/// <summary>
/// The prefix index hashes blocks with System.IO.Hashing's XxHash64; these vectors pin that it is
/// the same xxh64 (and the same seed handling) as the Go picker's, so block hashes agree across
/// implementations.
/// </summary>
public class XxHash64Tests
{
    private const ulong Prime32 = 2654435761UL;
    private const ulong Prime64 = 11400714785074694797UL;

    /// <summary>
    /// The reference implementation's own sanity vectors: Cyan4973/xxHash, cli/xsum_sanity_check.c
    /// (XSUM_XXH64_testdata), over the buffer XSUM_fillTestBuffer generates. 222 bytes runs the 32-byte
    /// stripe loop, 14 the 8/4/1-byte tail, and PRIME32 is the non-zero seed.
    /// </summary>
    [Theory]
    [InlineData(0, 0UL, 0xEF46DB3751D8E999UL)]
    [InlineData(0, Prime32, 0xAC75FDA2929B17EFUL)]
    [InlineData(1, 0UL, 0xE934A84ADB052768UL)]
    [InlineData(1, Prime32, 0x5014607643A9B4C3UL)]
    [InlineData(4, 0UL, 0x9136A0DCA57457EEUL)]
    [InlineData(14, 0UL, 0x8282DCC4994E35C8UL)]
    [InlineData(14, Prime32, 0xC3BD6BF63DEB6DF0UL)]
    [InlineData(222, 0UL, 0xB641AE8CB691C174UL)]
    [InlineData(222, Prime32, 0x20CB8AB7AE10C14AUL)]
    public void Hash_ReferenceSanityBuffer_MatchesXxHashRepository(int length, ulong seed, ulong expected)
    {
        Assert.Equal(expected, XxHash64.HashToUInt64(SanityBuffer(length), (long)seed));
    }

    /// <summary>
    /// Strings from cespare/xxhash's xxhash_test.go (the Go package GIE's prefix plugin hashes with); the
    /// 63-character one "exercises all code paths". "abc" is the widely published seed-0 value.
    /// </summary>
    [Theory]
    [InlineData("", 0xEF46DB3751D8E999UL)]
    [InlineData("a", 0xD24EC4F1A98C6E5BUL)]
    [InlineData("as", 0x1C330FB2D66BE179UL)]
    [InlineData("asd", 0x631C37CE72A97393UL)]
    [InlineData("asdf", 0x415872F599CEA71EUL)]
    [InlineData("abc", 0x44BC2CF5AD770999UL)]
    [InlineData("Call me Ishmael. Some years ago--never mind how long precisely-", 0x02A2E85470D6FD96UL)]
    public void Hash_PublishedStrings_MatchGoImplementation(string input, ulong expected)
    {
        Assert.Equal(expected, XxHash64.HashToUInt64(Encoding.ASCII.GetBytes(input)));
    }

    private static byte[] SanityBuffer(int length)
    {
        var buffer = new byte[length];
        var generator = Prime32;
        for (var i = 0; i < length; i++)
        {
            buffer[i] = (byte)(generator >> 56);
            generator *= Prime64;
        }

        return buffer;
    }
}
