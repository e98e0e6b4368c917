using System.Globalization;
using System.Runtime.InteropServices;

namespace Runtime.Simulation;

/// <summary>Runs simulated vLLM servers on consecutive ports until SIGTERM or Ctrl-C.</summary>
internal static class Program
{
    private const string Usage = """
        Simulated vLLM model servers on 127.0.0.1 (OpenAI /v1 endpoints, Prometheus /metrics,
        test controls at GET/POST /sim/state).

        Usage: Runtime.ModelServerSimulator [options]

          --port N               first port; servers use N, N+1, ... (default 8000; 0 = ephemeral)
          --count N              number of servers (default 1)
          --model NAME           base model (default meta-llama/Llama-3.1-8B-Instruct)
          --lora A,B             LoRA adapters served besides the base model (default none)
          --max-lora N           adapters that may run at once (default 4)
          --max-running N        requests running at once; the rest wait (default 8)
          --time-per-token-ms N  delay per output token in milliseconds (default 0)
          --kv-blocks N          KV-cache capacity in 16-token blocks (default 2048)
          --metrics-series N     pad each /metrics page to at least N series (default 0)
          --role R               llm-d.ai/role of every server: prefill, decode, both, ... (default none)
          --data-parallel-size N data-parallel ranks per server, rank i on the server's port + i (default 1)
          --help                 show this text

        Prints "simulator <name> listening on 127.0.0.1:<port>" per server (per rank), with --role
        followed by "  endpoint: <entry>" for the endpoint picker's --endpoints (the address and the
        llm-d.ai/role label), then runs until SIGTERM or Ctrl-C.
        """;

    public static async Task<int> Main(string[] args)
    {
        int count;
        SimulatorOptions template;
        try
        {
            if (args.Contains("--help") || args.Contains("-h"))
            {
                Console.WriteLine(Usage);
                return 0;
            }

            (template, count) = Parse(args);
            template.Validate();
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            await Console.Error.WriteLineAsync("Try --help.");
            return 2;
        }

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        SimulatorFarm farm;
        try
        {
            farm = await SimulatorFarm.StartAsync(count, template);
        }
        catch (IOException e)
        {
            // Most often a port already in use.
            await Console.Error.WriteLineAsync("Could not start the simulators: " + e.Message);
            return 1;
        }

        await using var _ = farm;
        foreach (var server in farm.Servers)
        {
            Console.WriteLine($"simulator {server.Name} listening on {server.Address}");
            if (server.Options.Role is not null)
            {
                Console.WriteLine($"  endpoint: {server.EndpointEntry}");
            }
        }

        await stop.Task;
        return 0;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // we shut down ourselves, after the farm is disposed
            stop.TrySetResult();
        }
    }

    private static (SimulatorOptions Template, int Count) Parse(string[] args)
    {
        var options = new SimulatorOptions { Port = 8000 };
        var count = 1;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"Missing value for {name}.");
            }

            var value = args[++i];
            if (name == "--count")
            {
                count = ParseInt(name, value);
                continue;
            }

            options = name switch
            {
                "--port" => options with { Port = ParseInt(name, value) },
                "--model" => options with { Model = value },
                "--lora" => options with { LoraAdapters = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "--max-lora" => options with { MaxLora = ParseInt(name, value) },
                "--max-running" => options with { MaxRunning = ParseInt(name, value) },
                "--time-per-token-ms" => options with { TimePerOutputToken = TimeSpan.FromMilliseconds(ParseInt(name, value)) },
                "--kv-blocks" => options with { NumGpuBlocks = ParseInt(name, value) },
                "--metrics-series" => options with { MetricsSeries = ParseInt(name, value) },
                "--role" => options with { Role = value },
                "--data-parallel-size" => options with { DataParallelSize = ParseInt(name, value) },
                _ => throw new ArgumentException($"Unknown option {name}."),
            };
        }

        if (count < 1 || (options.Port != 0 && options.Port + (count * options.DataParallelSize) - 1 > 65535))
        {
            throw new ArgumentException($"--count {count} does not fit from --port {options.Port}.");
        }

        return (options, count);
    }

    private static int ParseInt(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new ArgumentException($"{name} needs an integer, not '{value}'.");
}
