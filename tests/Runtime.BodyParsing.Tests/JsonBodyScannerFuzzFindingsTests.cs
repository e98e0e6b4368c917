using System.Buffers;
using System.Text;

namespace Runtime.BodyParsing.Tests;

/// <summary>Inputs afl-fuzz found (tests/Runtime.Fuzz, target json-scanner), each pinned as a unit test.</summary>
public class JsonBodyScannerFuzzFindingsTests
{
    private static readonly JsonFieldSet s_fields = new("model", "prompt");

    [Theory]
    [InlineData("{\"\\ud83d\":1,\"model\":\"m\"}")]
    [InlineData("{\"mod\\ud83del\":1,\"model\":\"m\"}")]
    public void Scan_NameWithEscapedLoneSurrogate_IsOkAndMatchesNoField(string body)
    {
        // The reader's ValueTextEquals threw InvalidOperationException out of Scan (a 500, not a 400).
        var scanner = new JsonBodyScanner(s_fields);

        Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(body))));
        Assert.Equal(2, scanner.PropertyCount);
        Assert.True(scanner.ValueEquals(0, "m"u8));
        Assert.False(scanner[1].IsPresent);
    }

    [Fact]
    public void ValueEquals_ValueWithEscapedLoneSurrogate_IsFalse()
    {
        var scanner = new JsonBodyScanner(s_fields);

        Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(new ReadOnlySequence<byte>("{\"model\":\"\\ud83d\"}"u8.ToArray())));
        Assert.False(scanner.ValueEquals(0, "x"u8));
        Assert.False(scanner.TryCopyString(0, new byte[16], out _));
    }
}
