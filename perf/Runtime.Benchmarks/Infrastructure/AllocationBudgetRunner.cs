using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Runtime.Benchmarks.Infrastructure;

/// <summary>
/// The allocation gate CI runs: finds every <c>[Benchmark]</c> method in the assembly that has an
/// <see cref="AllocationBudgetAttribute"/> (any class, any folder: the attribute is all a new
/// benchmark needs), runs them with a short in-process job and the memory diagnoser, prints
/// benchmark / ns per op / allocated / budget / verdict, and returns non-zero when any is over
/// budget or did not produce a result.
/// </summary>
/// <remarks>
/// Allocation per operation does not need statistical precision: BenchmarkDotNet measures it
/// over a whole iteration of millions of calls, so a short job is exact for "0 B" and cheap
/// (a few seconds per benchmark). In-process avoids building a host project per run.
/// </remarks>
public static class AllocationBudgetRunner
{
    public const string Switch = "--budget";

    public static int Run(Assembly assembly, IReadOnlyList<string> nameFilters)
    {
        Type[] types = assembly.GetTypes()
            .Where(type => type.IsPublic && !type.IsAbstract && BudgetedMethods(type).Any())
            .OrderBy(type => type.FullName, StringComparer.Ordinal)
            .ToArray();
        if (types.Length == 0)
        {
            Console.Error.WriteLine("No benchmark carries [AllocationBudget]: nothing to check.");
            return 1;
        }

        Job job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(100))
            .WithId("Budget");
        IConfig config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(ConsoleLogger.Default)
            .AddFilter(new SimpleFilter(benchmark => IsSelected(benchmark, nameFilters)))
            .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.JoinSummary);

        Summary[] summaries = BenchmarkRunner.Run(types, config);
        BenchmarkReport[] reports = summaries.SelectMany(summary => summary.Reports).ToArray();

        // Every budgeted benchmark case must have produced a report; a missing one is a failure.
        var rows = new List<(string Name, string Time, string Allocated, long Budget, bool Ok)>();
        foreach (Summary summary in summaries)
        {
            foreach (BenchmarkCase benchmark in summary.BenchmarksCases)
            {
                long budget = Budget(benchmark.Descriptor.WorkloadMethod)!.Value;
                string name = DisplayName(benchmark);
                BenchmarkReport? report = reports.FirstOrDefault(r => r.BenchmarkCase == benchmark);
                long? allocated = report is { Success: true } ? report.GcStats.GetBytesAllocatedPerOperation(benchmark) : null;
                if (report is not { Success: true } || report.ResultStatistics is null || allocated is null)
                {
                    rows.Add((name, "-", "FAILED", budget, false));
                    continue;
                }

                string time = report.ResultStatistics.Mean.ToString("N1", CultureInfo.InvariantCulture) + " ns";
                rows.Add((name, time, allocated.Value.ToString(CultureInfo.InvariantCulture) + " B", budget, allocated.Value <= budget));
            }

            if (summary.HasCriticalValidationErrors)
            {
                rows.Add((summary.Title, "-", "VALIDATION ERROR", 0, false));
            }
        }

        if (rows.Count == 0)
        {
            Console.Error.WriteLine("No budgeted benchmark matched the filter.");
            return 1;
        }

        PrintTable(rows);
        int failures = rows.Count(row => !row.Ok);
        Console.WriteLine(failures == 0
            ? $"Allocation budgets: all {rows.Count} benchmarks within budget."
            : $"Allocation budgets: {failures} of {rows.Count} benchmarks OVER budget or failed.");
        return failures == 0 ? 0 : 1;
    }

    private static IEnumerable<MethodInfo> BudgetedMethods(Type type) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(method => method.IsDefined(typeof(BenchmarkAttribute), inherit: true) && Budget(method) is not null);

    private static long? Budget(MethodInfo method) =>
        method.GetCustomAttribute<AllocationBudgetAttribute>(inherit: true)?.BytesPerOperation;

    private static bool IsSelected(BenchmarkCase benchmark, IReadOnlyList<string> nameFilters)
    {
        if (Budget(benchmark.Descriptor.WorkloadMethod) is null)
        {
            return false;
        }

        string name = benchmark.Descriptor.Type.FullName + "." + benchmark.Descriptor.WorkloadMethod.Name;
        return nameFilters.Count == 0
            || nameFilters.Any(filter => name.Contains(filter, StringComparison.OrdinalIgnoreCase));
    }

    private static string DisplayName(BenchmarkCase benchmark)
    {
        string name = benchmark.Descriptor.Type.Name + "." + benchmark.Descriptor.WorkloadMethod.Name;
        return benchmark.HasParameters ? $"{name}({benchmark.Parameters.DisplayInfo})" : name;
    }

    private static void PrintTable(List<(string Name, string Time, string Allocated, long Budget, bool Ok)> rows)
    {
        string[] headers = ["Benchmark", "Mean", "Allocated/op", "Budget/op", "Verdict"];
        string[][] cells = rows
            .Select(row => new[]
            {
                row.Name,
                row.Time,
                row.Allocated,
                row.Budget.ToString(CultureInfo.InvariantCulture) + " B",
                row.Ok ? "OK" : row.Allocated.StartsWith('F') || row.Allocated.StartsWith('V') ? "FAILED" : "OVER",
            })
            .ToArray();
        int[] widths = headers.Select((header, i) => Math.Max(header.Length, cells.Max(row => row[i].Length))).ToArray();

        Console.WriteLine();
        Console.WriteLine("| " + string.Join(" | ", headers.Select((header, i) => header.PadRight(widths[i]))) + " |");
        Console.WriteLine("|" + string.Join("|", widths.Select(width => new string('-', width + 2))) + "|");
        foreach (string[] row in cells)
        {
            Console.WriteLine("| " + string.Join(" | ", row.Select((cell, i) => i is 0 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))) + " |");
        }

        Console.WriteLine();
    }
}
