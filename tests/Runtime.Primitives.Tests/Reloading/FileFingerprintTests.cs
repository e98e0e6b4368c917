using System.Runtime.InteropServices;
using Runtime.Primitives.Reloading;

namespace Runtime.Primitives.Tests.Reloading;

/// <summary>What moves a fingerprint (every way files really change) and what does not.</summary>
public sealed partial class FileFingerprintTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("fingerprint-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    [Fact]
    public void OfDirectory_NothingChanged_SameFingerprint()
    {
        File.WriteAllText(PathOf("a.yaml"), "a: 1");

        Assert.Equal(FileFingerprint.OfDirectory(_directory.FullName), FileFingerprint.OfDirectory(_directory.FullName));
    }

    [Fact]
    public void OfDirectory_AtomicRenameOverAFile_Moves()
    {
        File.WriteAllText(PathOf("a.yaml"), "a: 1");
        var before = FileFingerprint.OfDirectory(_directory.FullName);

        File.WriteAllText(PathOf(".a.yaml.tmp"), "a: 22");
        File.Move(PathOf(".a.yaml.tmp"), PathOf("a.yaml"), overwrite: true);

        Assert.NotEqual(before, FileFingerprint.OfDirectory(_directory.FullName));
    }

    [Fact]
    public void OfDirectory_SameSizeRewrittenLater_Moves()
    {
        File.WriteAllText(PathOf("a.yaml"), "a: 1");
        File.SetLastWriteTimeUtc(PathOf("a.yaml"), DateTime.UtcNow.AddMinutes(-1));
        var before = FileFingerprint.OfDirectory(_directory.FullName);

        File.WriteAllText(PathOf("a.yaml"), "a: 2");

        Assert.NotEqual(before, FileFingerprint.OfDirectory(_directory.FullName));
    }

    [Fact]
    public void OfDirectory_ConfigMapDataSymlinkSwap_Moves()
    {
        // kubelet's layout: a.yaml -> ..data/a.yaml, ..data -> ..<timestamp>; the swap renames a new ..data over the old.
        Directory.CreateDirectory(PathOf("..v1"));
        File.WriteAllText(Path.Combine(PathOf("..v1"), "a.yaml"), "a: 1");
        Directory.CreateSymbolicLink(PathOf("..data"), "..v1");
        File.CreateSymbolicLink(PathOf("a.yaml"), Path.Combine("..data", "a.yaml"));
        var before = FileFingerprint.OfDirectory(_directory.FullName);

        Directory.CreateDirectory(PathOf("..v2"));
        File.WriteAllText(Path.Combine(PathOf("..v2"), "a.yaml"), "a: 2");
        Directory.CreateSymbolicLink(PathOf("..data_tmp"), "..v2");
        Assert.Equal(0, Rename(PathOf("..data_tmp"), PathOf("..data")));

        Assert.NotEqual(before, FileFingerprint.OfDirectory(_directory.FullName));
    }

    [Fact]
    public void OfDirectory_Missing_IsTheMissingMarker()
    {
        Assert.Equal(FileFingerprint.Missing, FileFingerprint.OfDirectory(PathOf("nope")));
    }

    [Fact]
    public void OfFiles_OneRewritten_MovesAndAMissingOneIsNamed()
    {
        File.WriteAllText(PathOf("tls.crt"), "cert");
        var before = FileFingerprint.OfFiles(PathOf("tls.crt"), PathOf("tls.key"));
        Assert.Contains(PathOf("tls.key") + FileFingerprint.Missing, before, StringComparison.Ordinal);

        File.WriteAllText(PathOf("tls.key"), "key");

        Assert.NotEqual(before, FileFingerprint.OfFiles(PathOf("tls.crt"), PathOf("tls.key")));
    }

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rename(string from, string to);
}
