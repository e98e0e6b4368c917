using BenchmarkDotNet.Running;
using Runtime.Benchmarks.Infrastructure;

namespace Runtime.Benchmarks;

public static class Program
{
    /// <summary>
    /// <c>--budget [name-substring...]</c> runs the allocation-budget gate (see
    /// <see cref="AllocationBudgetRunner"/>); anything else goes to BenchmarkDotNet's switcher,
    /// e.g. <c>--filter '*'</c> or <c>--filter '*ExtProc*' --job short</c>. <c>--scrape-cost N [seconds]
    /// [interval-ms]</c> measures the metrics scraper's CPU against N model servers (see
    /// <see cref="ModelMetrics.ScrapeCostRunner"/>).
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == AllocationBudgetRunner.Switch)
        {
            return AllocationBudgetRunner.Run(typeof(Program).Assembly, args[1..]);
        }

        if (args.Length > 0 && args[0] == ModelMetrics.ScrapeCostRunner.Switch)
        {
            return ModelMetrics.ScrapeCostRunner.RunAsync(args[1..]).GetAwaiter().GetResult();
        }

        if (args.Length > 0 && args[0] == ModelMetrics.ScrapeCostRunner.ServersSwitch)
        {
            return ModelMetrics.ScrapeCostRunner.ServeAsync(args[1..]).GetAwaiter().GetResult();
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
