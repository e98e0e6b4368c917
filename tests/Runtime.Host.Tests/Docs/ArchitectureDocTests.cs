using System.Text.RegularExpressions;
using Runtime.TestSupport.Hosting;
using Xunit;

namespace Runtime.Host.Tests.Docs;

/// <summary>
/// docs/ARCHITECTURE.md names each hop of the request and control-plane paths as
/// "`Type` — what it does — `file`": every such file must exist and declare that type, so a
/// rename or move that forgets the document fails here.
/// </summary>
public sealed partial class ArchitectureDocTests
{
    [GeneratedRegex(@"^\d+\. `(?<type>\w+)` — .+ — `(?<file>src/[^`]+\.cs)`$", RegexOptions.Multiline)]
    private static partial Regex Hop();

    [GeneratedRegex(@"`(?<type>\w+)` \(`(?<file>src/[^`]+\.cs)`\)")]
    private static partial Regex InlineReference();

    public static TheoryData<string, string> Hops()
    {
        var text = File.ReadAllText(RepositoryPaths.Combine("docs", "ARCHITECTURE.md"));
        var data = new TheoryData<string, string>();
        foreach (Match match in Hop().Matches(text).Concat(InlineReference().Matches(text)))
        {
            data.Add(match.Groups["type"].Value, match.Groups["file"].Value);
        }

        return data;
    }

    [Fact]
    public void Document_NamesBothPaths()
    {
        Assert.True(Hops().Count >= 24, $"only {Hops().Count} hops parsed from docs/ARCHITECTURE.md");
    }

    [Theory]
    [MemberData(nameof(Hops))]
    public void Hop_FileExistsAndDeclaresTheType(string type, string file)
    {
        var path = RepositoryPaths.Combine(file.Split('/'));
        Assert.True(File.Exists(path), $"{file} (named for {type}) does not exist");
        Assert.Matches(new Regex($@"\b(class|record|struct|interface)\s+{Regex.Escape(type)}\b"), File.ReadAllText(path));
    }

    [Fact]
    public void EveryProjectUnderSrc_IsInTheProjectTable()
    {
        var text = File.ReadAllText(RepositoryPaths.Combine("docs", "ARCHITECTURE.md"));
        foreach (var project in Directory.EnumerateDirectories(RepositoryPaths.Combine("src")).Select(Path.GetFileName))
        {
            var listed = text.Contains($"`{project}`", StringComparison.Ordinal)
                || (project!.StartsWith("Runtime.ControlPlane.", StringComparison.Ordinal) && text.Contains($"`.{project["Runtime.ControlPlane.".Length..]}`", StringComparison.Ordinal));
            Assert.True(listed, $"{project} is not in docs/ARCHITECTURE.md's project table");
        }
    }
}
