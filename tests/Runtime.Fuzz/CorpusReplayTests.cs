namespace Runtime.Fuzz;

/// <summary>
/// CI's share of the fuzzing: every target's checked-in seed corpus (corpus/TARGET) and every
/// crash afl-fuzz found and we fixed (crashes/TARGET, kept as regression inputs) run once through
/// the same target code afl-fuzz drives. Deterministic and fast: no mutation happens here.
/// </summary>
public class CorpusReplayTests
{
    public static TheoryData<string> Targets => new(FuzzTargets.Names);

    [Theory]
    [MemberData(nameof(Targets))]
    public void Corpus_ReplaysWithoutFailure(string target)
    {
        Assert.True(FuzzTargets.TryGet(target, out var run));
        var corpus = Path.Combine(AppContext.BaseDirectory, "corpus", target);
        Assert.True(Directory.Exists(corpus), $"no seed corpus for {target} at {corpus}");
        var files = Directory.EnumerateFiles(corpus).ToList();
        Assert.True(files.Count >= 3, $"the seed corpus of {target} has {files.Count} inputs");

        var crashes = Path.Combine(AppContext.BaseDirectory, "crashes", target);
        if (Directory.Exists(crashes))
        {
            files.AddRange(Directory.EnumerateFiles(crashes));
        }

        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var input = File.ReadAllBytes(file);
            var failure = Record.Exception(() => run(input));
            Assert.True(failure is null, $"{target}: {Path.GetFileName(file)} fails: {failure}");
        }
    }

    [Fact]
    public void EveryCrashDirectory_NamesAKnownTarget()
    {
        var crashes = Path.Combine(AppContext.BaseDirectory, "crashes");
        foreach (var directory in Directory.Exists(crashes) ? Directory.EnumerateDirectories(crashes) : [])
        {
            Assert.True(FuzzTargets.TryGet(Path.GetFileName(directory), out _), $"crashes/{Path.GetFileName(directory)} names no target");
        }
    }
}
