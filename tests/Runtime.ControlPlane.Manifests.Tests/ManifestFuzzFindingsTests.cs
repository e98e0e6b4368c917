namespace Runtime.ControlPlane.Manifests.Tests;

/// <summary>Inputs afl-fuzz found (tests/Runtime.Fuzz, targets manifests and endpoint-list), each pinned as a unit test.</summary>
public class ManifestFuzzFindingsTests
{
    [Theory]
    [InlineData(" {.4\u0004", 1)]
    [InlineData("...\n...4.", 2)]
    public void YamlErrorAtTheEndOfTheText_ReportedOnALineTheFileHas(string text, int lines)
    {
        // YamlDotNet puts an error at the end of the text on the line after the last one.
        var set = ManifestSetLoader.LoadText("m.yaml", text, "default");

        var error = Assert.Single(set.Errors);
        Assert.InRange(error.Line, 1, lines);
    }
}
