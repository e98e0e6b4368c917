namespace Runtime.Host.Cli;

/// <summary>
/// A command line the binary cannot use: each problem on one line of stderr, the last one saying
/// where the flags are listed, and exit status 2 (Go's flag package's code). Not the whole usage
/// text: a pod's log should show the mistake, not bury it under a hundred flags.
/// </summary>
internal static class UsageErrors
{
    public const int ExitCode = 2;

    public static int Write(TextWriter error, string command, IReadOnlyList<string> problems)
    {
        for (var i = 0; i < problems.Count; i++)
        {
            error.WriteLine(i < problems.Count - 1 ? problems[i] : $"{problems[i]} (run 'runtime {command} --help' for the flags)");
        }

        return ExitCode;
    }
}
