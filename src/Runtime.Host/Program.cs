using Runtime.Host.Config;
using Runtime.Host.Serve;

namespace Runtime.Host;

internal static class Program
{
    private const string Help = """
        runtime — data plane for LLM inference traffic behind Envoy (ext_proc).

        Usage:
          runtime [serve] [flags]   serve ext_proc and gRPC health (the default; Go endpoint picker flags)
          runtime bbr [flags]       the body-based router on :9004 (health :9005); Go router flags, --help lists them
          runtime validate [--config-file F | --config-text T] [--allow-experimental-plugins] [--print-effective]
                                    check an EndpointPickerConfig: exit 0 when valid, 1 with every error (file:line:col: path: message)
          runtime plugins [--output table|json]
                                    list plugin types (kind, stability, feature gate, deprecation) and removed types
          runtime version           print the version
          runtime help              this text; `runtime serve --help` lists the flags

        Role without a subcommand (the Helm charts pass flags only): the endpoint picker, or the
        body-based router when the executable is named runtime-bbr or RUNTIME_ROLE=bbr.
        """;

    /// <summary>The environment variable that makes flag-only args start the body-based router.</summary>
    public const string RoleVariable = "RUNTIME_ROLE";

    /// <summary>Read by .NET's socket engine once, at its first use: set before any socket exists.</summary>
    internal const string InlineSocketCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static async Task<int> Main(string[] args)
    {
        // Socket completions run on the socket engine's own threads (one per core in this mode)
        // instead of hopping to the thread pool first. For ext_proc, Kestrel's transport only moves
        // the bytes into its pipes there and hands our processing to the pool; an outgoing client
        // (a metrics scrape) parses the bytes of one read there. Half the context switches per
        // exchange and a steadier rate (perf/README, "Socket completions"). An operator's own value
        // (0 turns it off) wins.
        if (Environment.GetEnvironmentVariable(InlineSocketCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineSocketCompletionsVariable, "1");
        }

        try
        {
            return await RunAsync(args).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The last line of defence for start-up: whatever a command did not turn into its own
            // message is still one line and exit 1, never an unhandled-exception abort.
            await Console.Error.WriteLineAsync($"error: {ex.Message.ReplaceLineEndings(" ")} ({ex.GetType().Name})").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> RunAsync(string[] args)
    {
        // The Go binaries are started with flags only, so no subcommand means this image's role.
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            if (IsBbrRole())
            {
                return await Bbr.BbrCommand.RunAsync(args).ConfigureAwait(false);
            }

            return args is ["--help"] or ["-h"] or ["-help"] ? PrintServeUsage() : await ServeCommand.RunAsync(args).ConfigureAwait(false);
        }

        var rest = args.AsSpan(1).ToArray();
        switch (args[0])
        {
            case "serve":
                return rest is ["--help"] or ["-h"] or ["-help"] ? PrintServeUsage() : await ServeCommand.RunAsync(rest).ConfigureAwait(false);
            case "bbr":
                return await Bbr.BbrCommand.RunAsync(rest).ConfigureAwait(false);
            case "validate":
                return ValidateCommand.Run(rest, Console.Out, Console.Error);
            case "plugins":
                return PluginsCommand.Run(rest, Console.Out, Console.Error);
            case "version":
                Console.WriteLine(typeof(Program).Assembly.GetName().Version?.ToString() ?? "unknown");
                return 0;
            case "help" or "--help" or "-h":
                Console.WriteLine(Help);
                return 0;
            default:
                await Console.Error.WriteLineAsync($"unknown command \"{args[0]}\"\n\n{Help}").ConfigureAwait(false);
                return 2;
        }
    }

    /// <summary>One image, both roles: the executable's name or <see cref="RoleVariable"/> picks the body-based router.</summary>
    private static bool IsBbrRole()
    {
        var role = Environment.GetEnvironmentVariable(RoleVariable);
        if (!string.IsNullOrEmpty(role))
        {
            return role.Equals("bbr", StringComparison.OrdinalIgnoreCase);
        }

        var executable = Path.GetFileNameWithoutExtension(Environment.ProcessPath ?? string.Empty);
        return executable.EndsWith("-bbr", StringComparison.Ordinal) || executable == "bbr";
    }

    private static int PrintServeUsage()
    {
        _ = ServeCommand.TryParse([], out _, out _, out var usage);
        Console.WriteLine("Usage of runtime serve:\n" + usage);
        return 0;
    }
}
