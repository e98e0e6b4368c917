using System.Diagnostics;
using System.Globalization;
using System.Text;
using Runtime.Simulation;
using Runtime.TestSupport.ExtProc;
using Runtime.TestSupport.Hosting;

namespace Runtime.Soak;

/// <summary>
/// The soak run: model-server simulators, the runtime binary as the endpoint picker over them,
/// open-loop mixed traffic, a sample every few seconds, a CSV and one summary line. See perf/soak.sh.
/// </summary>
internal static class Program
{
    private const string Usage = """
        Usage: Runtime.Soak --binary PATH [options]
          --minutes N          measured run length (default 3)
          --rate R             exchanges started per second (default 40)
          --size BYTES         request body of the long prompts (default 20000)
          --out DIR            where soak.csv, failures.log and runtime.log go (default .)
          --sample-seconds S   sampling interval (default 5)
          --warmup-seconds S   traffic before the measured run, not sampled (default 15)
          --control-plane C    where the endpoints come from: kubernetes (default; a fake API server in
                               this process, whose watches are dropped and expired through the run
                               and whose pods turn unready while their simulator restarts) or file
                               (--endpoints-file, as at the edge)
          --config-change K    what changes at half time: endpoints (a 4th simulator joins: a new
                               ready pod, or a line in the endpoints file; checked to receive
                               traffic), config (the --config-file's scorer weights; needs hot
                               reload), both (default)
        Exit status: 0 pass, 1 a failed exchange or growth over 10% (last vs first quarter medians), 2 usage.
        """;

    public static async Task<int> Main(string[] args)
    {
        SoakOptions options;
        try
        {
            options = SoakOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message + Environment.NewLine + Usage);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(Usage);
            return 0;
        }

        Directory.CreateDirectory(options.OutDirectory);
        return await new SoakRun(options).RunAsync();
    }
}

internal sealed record SoakOptions
{
    public string Binary { get; init; } = string.Empty;

    public double Minutes { get; init; } = 3;

    public double Rate { get; init; } = 40;

    public int LongPromptBytes { get; init; } = 20_000;

    public string OutDirectory { get; init; } = ".";

    public double SampleSeconds { get; init; } = 5;

    public double WarmupSeconds { get; init; } = 15;

    public string ConfigChange { get; init; } = "both";

    public string ControlPlane { get; init; } = "kubernetes";

    public bool Help { get; init; }

    public static SoakOptions Parse(string[] args)
    {
        var o = new SoakOptions();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--help" or "-h")
            {
                return o with { Help = true };
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"Missing value for {args[i]}.");
            }

            var (name, value) = (args[i], args[++i]);
            o = name switch
            {
                "--binary" => o with { Binary = Path.GetFullPath(value) },
                "--minutes" => o with { Minutes = Number(name, value, 0.1) },
                "--rate" => o with { Rate = Number(name, value, 0.1) },
                "--size" => o with { LongPromptBytes = (int)Number(name, value, 200) },
                "--out" => o with { OutDirectory = Path.GetFullPath(value) },
                "--sample-seconds" => o with { SampleSeconds = Number(name, value, 0.5) },
                "--warmup-seconds" => o with { WarmupSeconds = Number(name, value, 0) },
                "--config-change" => value is "endpoints" or "config" or "both"
                    ? o with { ConfigChange = value }
                    : throw new ArgumentException($"--config-change is endpoints, config or both, not '{value}'."),
                "--control-plane" => value is "kubernetes" or "file"
                    ? o with { ControlPlane = value }
                    : throw new ArgumentException($"--control-plane is kubernetes or file, not '{value}'."),
                _ => throw new ArgumentException($"Unknown option {name}."),
            };
        }

        if (!File.Exists(o.Binary))
        {
            throw new ArgumentException($"--binary '{o.Binary}' does not exist (publish it with ./build.sh publish).");
        }

        return o;
    }

    private static double Number(string name, string value, double minimum) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed >= minimum
            ? parsed
            : throw new ArgumentException($"{name} needs a number of at least {minimum}, not '{value}'.");
}
