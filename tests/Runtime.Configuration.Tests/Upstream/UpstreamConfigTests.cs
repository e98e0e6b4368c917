using Runtime.Configuration.Loading;
using Xunit.Abstractions;

namespace Runtime.Configuration.Tests.Upstream;

/// <summary>
/// Compatibility with the Gateway API Inference Extension v1.5.0: every EndpointPickerConfig its
/// chart, tests, conformance suite and docs ship, reproduced field by field under
/// <c>Upstream/gie-v1.5.0/</c> (each file names its source as <c># upstream: path@v1.5.0</c>), must
/// load. The exceptions are the latency-predictor configs (<c># expect: not-available</c>), which must
/// fail with the clear "not available in this build" error and nothing else.
/// </summary>
public class UpstreamConfigTests(ITestOutputHelper output)
{
    public const string Folder = "Upstream/gie-v1.5.0";

    public static IEnumerable<string> FixtureNames() =>
        Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, Folder), "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    public static TheoryData<string> Fixtures() => [.. FixtureNames()];

    public static string Expectation(string text) =>
        text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("# expect: ", StringComparison.Ordinal))?["# expect: ".Length..]
        ?? throw new InvalidOperationException("fixture has no '# expect:' line");

    private static ConfigLoadResult Load(string name) => TestConfigs.Loader.LoadFile(Path.Combine(AppContext.BaseDirectory, Folder, name));

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Load_UpstreamConfig_AsExpected(string name)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, Folder, name));
        Assert.Matches(@"# upstream: \S+@v1\.5\.0", text);
        var result = Load(name);
        switch (Expectation(text))
        {
            case "valid":
                Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
                break;
            case "not-available":
                Assert.False(result.IsValid);
                Assert.All(result.Errors, e => Assert.Contains("is not available in this build: it belongs to GIE's latency-predictor family", e.Message, StringComparison.Ordinal));
                break;
            default:
                Assert.Fail($"unknown expectation in {name}");
                break;
        }
    }

    [Fact]
    public void Load_AllUpstreamConfigs_ReportsNofM()
    {
        var names = FixtureNames().ToArray();
        var valid = names.Where(n => Load(n).IsValid).ToArray();
        var expectedUnavailable = names.Where(n => Expectation(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, Folder, n))) == "not-available").ToArray();

        output.WriteLine($"{valid.Length} of {names.Length} upstream configs validate (GIE v1.5.0); the others are the latency-predictor family: {string.Join(", ", expectedUnavailable)}");
        Assert.True(names.Length >= 30, $"only {names.Length} fixtures");
        Assert.Equal(names.Except(expectedUnavailable), valid);
    }
}
