using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Runtime.ControlPlane.Manifests.Tests;

/// <summary>A temp directory removed after the test.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(bool create = true)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "manifests-" + Guid.NewGuid().ToString("N"));
        if (create)
        {
            Directory.CreateDirectory(Path);
        }
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Write(string name, string text) => System.IO.File.WriteAllText(File(name), text);

    /// <summary>Writes a temp file and renames it over the target, as careful writers do.</summary>
    public void WriteAtomically(string name, string text)
    {
        var temp = File("." + name + ".tmp");
        System.IO.File.WriteAllText(temp, text);
        System.IO.File.Move(temp, File(name), overwrite: true);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static partial class TestFiles
{
    /// <summary>Polls until <paramref name="condition"/> holds or the deadline passes (generous: CI machines are noisy).</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        while (deadline.Elapsed < limit)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(20);
        }

        return condition();
    }

    /// <summary>rename(2): atomically replaces a symlink, as kubelet swaps <c>..data</c>.</summary>
    public static void Rename(string from, string to)
    {
        if (RenameNative(from, to) != 0)
        {
            throw new IOException($"rename {from} -> {to} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameNative(string from, string to);

    public const string Pool = """
        apiVersion: inference.networking.k8s.io/v1
        kind: InferencePool
        metadata:
          name: pool
        spec:
          selector:
            matchLabels:
              app: vllm
          targetPorts:
            - number: 8000
        """;

    public static string Objective(string name, int priority, string pool = "pool") => $"""
        apiVersion: inference.networking.x-k8s.io/v1alpha2
        kind: InferenceObjective
        metadata:
          name: {name}
        spec:
          priority: {priority}
          poolRef:
            name: {pool}
        """;

    public static string EndpointList(string name, params string[] addresses) => $"""
        apiVersion: runtime.dev/v1
        kind: EndpointList
        metadata:
          name: {name}
        labels:
          app: vllm
        addresses: [{string.Join(", ", addresses.Select(a => $"\"{a}\""))}]
        """;
}
