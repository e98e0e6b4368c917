using Runtime.Host.Config;
using Runtime.Host.Serve;

namespace Runtime.Host;

internal static class Program
{
    private const string Help = """
        runtime — data plane for LLM inference traffic behind Envoy (ext_proc).

        Usage:
          runtime [serve] [flags]   serve ext_proc and gRPC health (the default; Go endpoint picker flags)
          runtime validate [--config-file F | --config-text T] [--print-effective]
                                    check an EndpointPickerConfig: exit 0 when valid, 1 with every error (file:line:col: path: message)
          runtime plugins [--output table|json]
                                    list plugin types (kind, stability, feature gate, deprecation) and removed types
          runtime version           print the version
          runtime help              this text; `runtime serve --help` lists the flags
        """;

    public static async Task<int> Main(string[] args)
    {
        // The Go binary is started with flags only, so no subcommand means serve.
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            return args is ["--help"] or ["-h"] or ["-help"] ? PrintServeUsage() : await ServeCommand.RunAsync(args).ConfigureAwait(false);
        }

        var rest = args.AsSpan(1).ToArray();
        switch (args[0])
        {
            case "serve":
                return rest is ["--help"] or ["-h"] or ["-help"] ? PrintServeUsage() : await ServeCommand.RunAsync(rest).ConfigureAwait(false);
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

    private static int PrintServeUsage()
    {
        _ = ServeCommand.TryParse([], out _, out _, out var usage);
        Console.WriteLine("Usage of runtime serve:\n" + usage);
        return 0;
    }
}
