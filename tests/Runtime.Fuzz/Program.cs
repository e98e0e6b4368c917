using SharpFuzz;

namespace Runtime.Fuzz;

/// <summary>
/// <c>fuzz TARGET</c>: the afl-fuzz harness (SharpFuzz's persistent loop; see build.sh fuzz).
/// <c>replay TARGET PATH...</c>: runs files or directories of inputs once each, as CI does.
/// <c>list</c>: the target names.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 1 && args[0] == "list")
        {
            foreach (var name in FuzzTargets.Names)
            {
                Console.WriteLine(name);
            }

            return 0;
        }

        if (args.Length < 2 || (args[0] != "fuzz" && args[0] != "replay"))
        {
            Console.Error.WriteLine("usage: Runtime.Fuzz list | fuzz TARGET | replay TARGET PATH...");
            return 2;
        }

        if (!FuzzTargets.TryGet(args[1], out var target))
        {
            Console.Error.WriteLine($"error: unknown fuzz target '{args[1]}' (known: {string.Join(", ", FuzzTargets.Names)})");
            return 2;
        }

        if (args[0] == "fuzz")
        {
            // The stream is the input afl-fuzz wrote; an escaping exception is the crash it records.
            Fuzzer.Run(stream =>
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                target(copy.ToArray());
            });
            return 0;
        }

        var count = 0;
        foreach (var file in args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal))
        {
            try
            {
                target(File.ReadAllBytes(file));
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine($"{file}: {ex}");
                return 1;
            }

            count++;
        }

        Console.WriteLine($"{args[1]}: {count} inputs, no failure");
        return 0;
    }
}
