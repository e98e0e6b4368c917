using System.Text;
using System.Text.Unicode;

namespace Runtime.BodyParsing.Tests;

public class Utf8ValidationTests
{
    [Fact]
    public void IsValid_RandomBytesInRandomSegments_AgreesWithWholeBufferCheck()
    {
        var random = new Random(5);
        var samples = Encoding.UTF8.GetBytes("aé中😀\u0080\uFFFD");
        for (var i = 0; i < 5000; i++)
        {
            var bytes = new byte[random.Next(0, 40)];
            for (var j = 0; j < bytes.Length; j++)
            {
                // Mostly real UTF-8 bytes (so valid runs and splits mid-character happen), some noise.
                bytes[j] = random.Next(5) == 0 ? (byte)random.Next(256) : samples[random.Next(samples.Length)];
            }

            if (random.Next(2) == 0)
            {
                bytes = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes)); // repaired: valid
            }

            var expected = Utf8.IsValid(bytes);
            Assert.Equal(expected, Utf8Validation.IsValid(TestBodies.Split(bytes, random, maxSegments: 20)));
            Assert.Equal(expected, Utf8Validation.IsValid(TestBodies.ByteByByte(bytes)));
        }
    }
}
