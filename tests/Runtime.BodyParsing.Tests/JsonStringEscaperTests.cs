using System.Text;
using System.Text.Json;

namespace Runtime.BodyParsing.Tests;

public class JsonStringEscaperTests
{
    [Theory]
    [InlineData("llama", "\"llama\"")]
    [InlineData("", "\"\"")]
    [InlineData("a\"b", "\"a\\\"b\"")]
    [InlineData("a\\b", "\"a\\\\b\"")]
    [InlineData("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"")]
    [InlineData("\u0000\u001f", "\"\\u0000\\u001f\"")]
    [InlineData("é中😀/<>&\u007f", "\"é中😀/<>&\u007f\"")]
    public void WriteQuoted_Text_EscapesOnlyWhatJsonRequires(string text, string expected)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        Assert.True(JsonStringEscaper.TryGetQuotedLength(utf8, out var length));
        var destination = new byte[length];

        Assert.Equal(length, JsonStringEscaper.WriteQuoted(utf8, destination));
        Assert.Equal(expected, Encoding.UTF8.GetString(destination));
    }

    [Fact]
    public void WriteQuoted_InvalidUtf8OrShortDestination_ReturnsMinusOne()
    {
        Assert.False(JsonStringEscaper.TryGetQuotedLength([0x61, 0xC3], out _));
        Assert.Equal(-1, JsonStringEscaper.WriteQuoted([0x61, 0xFF], new byte[16]));
        Assert.Equal(-1, JsonStringEscaper.WriteQuoted("abc"u8, new byte[4]));
    }

    [Fact]
    public void WriteQuoted_RandomText_RoundTripsThroughJsonDocument()
    {
        var random = new Random(11);
        for (var i = 0; i < 2000; i++)
        {
            var chars = new char[random.Next(0, 40)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = random.Next(4) switch
                {
                    0 => (char)random.Next(0, 0x20),
                    1 => "\"\\/"[random.Next(3)],
                    2 => (char)random.Next(0x80, 0xD800),
                    _ => (char)random.Next(0x20, 0x7F),
                };
            }

            var text = new string(chars);
            var utf8 = Encoding.UTF8.GetBytes(text);
            Assert.True(JsonStringEscaper.TryGetQuotedLength(utf8, out var length));
            var destination = new byte[length];
            JsonStringEscaper.WriteQuoted(utf8, destination);

            using var document = JsonDocument.Parse(destination);
            Assert.Equal(text, document.RootElement.GetString());
        }
    }
}
