using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Runtime.Benchmarks.Infrastructure;

/// <summary>
/// The allocation gate CI runs: every <c>[Benchmark]</c> method with an
/// <see cref="AllocationBudgetAttribute"/> (any class, any folder) is set up, warmed up, checked
/// for its outcome, and then invoked a fixed number of times between two reads of
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/>. Prints benchmark / allocated / budget /
/// verdict and returns non-zero when any is over budget, fails its outcome check or throws.
/// </summary>
/// <remarks>
/// Why not BenchmarkDotNet's MemoryDiagnoser: it counts every thread's allocations over the
/// iteration, so a background allocation (a timer, tiered compilation's bookkeeping, the test
/// host) amortises into "1 B/op" on slow benchmarks and the gate flakes from machine to machine.
/// The current thread's counter is exact and sees only the operation: every budgeted operation
/// completes synchronously on the calling thread (the flow-control ones assert it), so nothing
/// it does can allocate unseen on another thread. Run with <c>DOTNET_TieredCompilation=0</c>
/// (<c>./build.sh budget</c> does): every method is fully optimised from its first call, as in
/// the AOT binary, so no tier-up (and .NET 10's tier-1 stack allocation) can change the figure
/// between runs. BenchmarkDotNet stays for the reported timings.
/// </remarks>
public static class AllocationBudgetRunner
{
    public const string Switch = "--budget";

    private const int WarmupInvocations = 2_000;
    private const int MeasuredInvocations = 10_000;
    private static readonly TimeSpan s_tieredWarmup = TimeSpan.FromMilliseconds(500);

    public static int Run(Assembly assembly, IReadOnlyList<string> nameFilters)
    {
        var methods = assembly.GetTypes()
            .Where(type => type.IsPublic && !type.IsAbstract)
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Where(method => method.IsDefined(typeof(BenchmarkAttribute), inherit: true) && Budget(method) is not null)
                .Select(method => (Type: type, Method: method)))
            .Where(entry => IsSelected(entry.Type, entry.Method, nameFilters))
            .OrderBy(entry => entry.Type.FullName, StringComparer.Ordinal)
            .ThenBy(entry => entry.Method.Name, StringComparer.Ordinal)
            .ToArray();
        if (methods.Length == 0)
        {
            Console.Error.WriteLine("No benchmark carries [AllocationBudget] (or none matched the filter): nothing to check.");
            return 1;
        }

        bool tiered = Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") != "0";
        Console.WriteLine(tiered
            ? "Allocation budgets: tiered compilation is on; warming each benchmark up for 500 ms (set DOTNET_TieredCompilation=0 for the deterministic mode CI uses)."
            : $"Allocation budgets: fully optimised JIT, {WarmupInvocations:N0} warm-up + {MeasuredInvocations:N0} measured invocations each, current thread only.");

        // The gate checks itself: an operation that allocates must read as allocating.
        var canaryRow = Measure(new Canary(), typeof(Canary).GetMethod(nameof(Canary.Allocate))!, tiered: false);
        if (canaryRow.Verdict != "OVER")
        {
            Console.Error.WriteLine($"Allocation budgets: the canary that allocates 24 B per call read {canaryRow.PerOperation} ({canaryRow.Reason}); the measurement is broken.");
            return 1;
        }

        var rows = new List<Row>();
        foreach (var group in methods.GroupBy(entry => entry.Type))
        {
            rows.AddRange(RunClass(group.Key, group.Select(entry => entry.Method).ToArray(), tiered));
        }

        PrintTable(rows);
        int failures = rows.Count(row => row.Verdict != "OK");
        Console.WriteLine(failures == 0
            ? $"Allocation budgets: all {rows.Count} benchmarks within budget."
            : $"Allocation budgets: {failures} of {rows.Count} benchmarks OVER budget or failed.");
        return failures == 0 ? 0 : 1;
    }

    private sealed record Row(string Name, string PerOperation, string Allocated, long Budget, string Verdict, string? Reason = null);

    private static IEnumerable<Row> RunClass(Type type, MethodInfo[] methods, bool tiered)
    {
        object instance;
        try
        {
            instance = Activator.CreateInstance(type)!;
            InvokeAll<GlobalSetupAttribute>(instance);
        }
        catch (Exception e)
        {
            return methods.Select(method => new Row(Name(method), "-", "-", Budget(method)!.Value, "FAILED", "setup threw " + Unwrap(e).Message));
        }

        var rows = methods.Select(method => Measure(instance, method, tiered)).ToList();
        try
        {
            InvokeAll<GlobalCleanupAttribute>(instance);
        }
        catch (Exception e)
        {
            rows.Add(new Row(type.Name + " cleanup", "-", "-", 0, "FAILED", Unwrap(e).Message));
        }

        return rows;
    }

    private sealed class Canary
    {
        [AllocationBudget(0, Outcome = nameof(Allocated))]
        public object Allocate() => new();

        private static bool Allocated(object result) => result is not null;
    }

    private static Row Measure(object instance, MethodInfo method, bool tiered)
    {
        long budget = Budget(method)!.Value;
        string name = Name(method);
        try
        {
            var measure = method.ReturnType == typeof(void)
                ? typeof(AllocationBudgetRunner).GetMethod(nameof(MeasureAction), BindingFlags.NonPublic | BindingFlags.Static)!
                : typeof(AllocationBudgetRunner).GetMethod(nameof(MeasureFunc), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(method.ReturnType);
            var (allocated, outcomeOk, reason) = ((long, bool, string?))measure.Invoke(null, [instance, method, OutcomeMethod(method), tiered])!;
            if (!outcomeOk)
            {
                return new Row(name, "-", "-", budget, "FAILED", reason);
            }

            // Whole bytes per operation, rounded up: any allocation at all shows as at least 1 B.
            long perOperation = (allocated + MeasuredInvocations - 1) / MeasuredInvocations;
            return new Row(
                name,
                perOperation.ToString(CultureInfo.InvariantCulture) + " B",
                allocated.ToString("N0", CultureInfo.InvariantCulture) + " B",
                budget,
                allocated <= budget * MeasuredInvocations ? "OK" : "OVER");
        }
        catch (Exception e)
        {
            return new Row(name, "-", "-", budget, "FAILED", Unwrap(e).GetType().Name + ": " + Unwrap(e).Message);
        }
    }

    // Delegates, not MethodInfo.Invoke: reflection would box the result inside the measured loop.
    private static (long, bool, string?) MeasureFunc<T>(object instance, MethodInfo method, MethodInfo? outcome, bool tiered)
    {
        var operation = method.CreateDelegate<Func<T>>(instance);
        var check = outcome is null ? null : outcome.IsStatic ? outcome.CreateDelegate<Func<T, bool>>() : outcome.CreateDelegate<Func<T, bool>>(instance);
        if (check is null)
        {
            return (0, false, "no outcome check: give [AllocationBudget] an Outcome = nameof(bool Check(" + typeof(T).Name + "))");
        }

        T result = operation();
        if (!check(result))
        {
            return (0, false, $"outcome check {outcome!.Name} rejected the first result ({result})");
        }

        Warm(() => operation(), tiered);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < MeasuredInvocations; i++)
        {
            result = operation();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return check(result)
            ? (allocated, true, null)
            : (allocated, false, $"outcome check {outcome!.Name} rejected the last result ({result})");
    }

    private static (long, bool, string?) MeasureAction(object instance, MethodInfo method, MethodInfo? outcome, bool tiered)
    {
        var operation = method.CreateDelegate<Action>(instance);
        var check = outcome is null ? null : outcome.IsStatic ? outcome.CreateDelegate<Func<bool>>() : outcome.CreateDelegate<Func<bool>>(instance);
        if (check is null)
        {
            return (0, false, "no outcome check: give [AllocationBudget] an Outcome = nameof(bool Check())");
        }

        operation();
        if (!check())
        {
            return (0, false, $"outcome check {outcome!.Name} failed after the first invocation");
        }

        Warm(operation, tiered);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < MeasuredInvocations; i++)
        {
            operation();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return check() ? (allocated, true, null) : (allocated, false, $"outcome check {outcome!.Name} failed after the measured run");
    }

    private static void Warm(Action operation, bool tiered)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < WarmupInvocations || (tiered && clock.Elapsed < s_tieredWarmup); i++)
        {
            operation();
        }
    }

    private static MethodInfo? OutcomeMethod(MethodInfo method)
    {
        string? name = method.GetCustomAttribute<AllocationBudgetAttribute>(inherit: true)!.Outcome;
        if (name is null)
        {
            return null;
        }

        Type[] parameters = method.ReturnType == typeof(void) ? [] : [method.ReturnType];
        var check = method.DeclaringType!.GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static, parameters);
        return check?.ReturnType == typeof(bool)
            ? check
            : throw new InvalidOperationException($"outcome check '{name}' must be a method bool {name}({string.Join(", ", parameters.Select(p => p.Name))}) on {method.DeclaringType!.Name}");
    }

    private static void InvokeAll<TAttribute>(object instance) where TAttribute : Attribute
    {
        foreach (var method in instance.GetType().GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.IsDefined(typeof(TAttribute), inherit: true)))
        {
            method.Invoke(instance, null);
        }
    }

    private static long? Budget(MethodInfo method) =>
        method.GetCustomAttribute<AllocationBudgetAttribute>(inherit: true)?.BytesPerOperation;

    private static bool IsSelected(Type type, MethodInfo method, IReadOnlyList<string> nameFilters)
    {
        string name = type.FullName + "." + method.Name;
        return nameFilters.Count == 0 || nameFilters.Any(filter => name.Contains(filter, StringComparison.OrdinalIgnoreCase));
    }

    private static string Name(MethodInfo method) => method.DeclaringType!.Name + "." + method.Name;

    private static Exception Unwrap(Exception e) => e is TargetInvocationException { InnerException: { } inner } ? inner : e;

    private static void PrintTable(List<Row> rows)
    {
        string[] headers = ["Benchmark", "Allocated/op", $"Allocated in {MeasuredInvocations:N0} ops", "Budget/op", "Verdict"];
        string[][] cells = rows
            .Select(row => new[] { row.Name, row.PerOperation, row.Allocated, row.Budget.ToString(CultureInfo.InvariantCulture) + " B", row.Verdict })
            .ToArray();
        int[] widths = headers.Select((header, i) => Math.Max(header.Length, cells.Max(row => row[i].Length))).ToArray();

        Console.WriteLine();
        Console.WriteLine("| " + string.Join(" | ", headers.Select((header, i) => header.PadRight(widths[i]))) + " |");
        Console.WriteLine("|" + string.Join("|", widths.Select(width => new string('-', width + 2))) + "|");
        foreach (string[] row in cells)
        {
            Console.WriteLine("| " + string.Join(" | ", row.Select((cell, i) => i is 0 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))) + " |");
        }

        foreach (var row in rows.Where(row => row.Reason is not null))
        {
            Console.WriteLine($"{row.Name}: {row.Reason}");
        }

        Console.WriteLine();
    }
}
