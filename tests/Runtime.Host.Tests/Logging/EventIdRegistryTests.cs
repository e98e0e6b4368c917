using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Runtime.TestSupport.Hosting;
using Xunit;

namespace Runtime.Host.Tests.Logging;

/// <summary>
/// Each assembly declares its range of log event ids once, in its csproj
/// (<c>&lt;AssemblyMetadata Include="EventIds" Value="first-last" /&gt;</c>); every
/// <c>[LoggerMessage]</c> in it takes an id from that range, and no two log lines of the process
/// share an id, so an id in a log names exactly one line of code.
/// </summary>
public sealed class EventIdRegistryTests
{
    private const BindingFlags AllMethods = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    private static IEnumerable<Assembly> RuntimeAssemblies() =>
        Directory.EnumerateFiles(AppContext.BaseDirectory, "Runtime.*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(name => Directory.Exists(RepositoryPaths.Combine("src", name!)))
            .Order(StringComparer.Ordinal)
            .Select(name => Assembly.Load(name!))
            .Append(typeof(Runtime.Host.Cli.FlagSet).Assembly);

    private static (int First, int Last)? Range(Assembly assembly) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "EventIds")?.Value is { } value
            ? (int.Parse(value.Split('-')[0], CultureInfo.InvariantCulture), int.Parse(value.Split('-')[1], CultureInfo.InvariantCulture))
            : null;

    private static IEnumerable<(MethodInfo Method, int Id)> LogLines(Assembly assembly) =>
        assembly.GetTypes()
            .SelectMany(t => t.GetMethods(AllMethods))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (x.Method, x.Attribute!.EventId));

    private static string Name(MethodInfo method) => $"{method.DeclaringType!.FullName}.{method.Name}";

    [Fact]
    public void EveryLogLine_HasAnIdFromItsAssemblysRange()
    {
        var problems = new List<string>();
        var lines = 0;
        foreach (var assembly in RuntimeAssemblies())
        {
            var range = Range(assembly);
            foreach (var (method, id) in LogLines(assembly))
            {
                lines++;
                if (range is not { } r)
                {
                    problems.Add($"{assembly.GetName().Name} logs ({Name(method)}) but declares no EventIds range");
                }
                else if (id < r.First || id > r.Last)
                {
                    problems.Add($"{Name(method)}: id {id} is outside {assembly.GetName().Name}'s range {r.First}-{r.Last}");
                }
            }
        }

        Assert.True(lines > 40, $"only {lines} [LoggerMessage] methods found");
        Assert.Empty(problems);
    }

    [Fact]
    public void NoTwoLogLines_ShareAnId()
    {
        var duplicates = RuntimeAssemblies().SelectMany(LogLines)
            .GroupBy(x => x.Id)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => Name(x.Method)))}");

        Assert.Empty(duplicates);
    }

    [Fact]
    public void Ranges_DoNotOverlap()
    {
        var ranges = RuntimeAssemblies().Distinct().Select(a => (a.GetName().Name, Range: Range(a))).Where(x => x.Range is not null).OrderBy(x => x.Range!.Value.First).ToArray();
        Assert.True(ranges.Length >= 15, $"only {ranges.Length} assemblies declare a range");
        for (var i = 1; i < ranges.Length; i++)
        {
            Assert.True(ranges[i].Range!.Value.First > ranges[i - 1].Range!.Value.Last, $"{ranges[i - 1].Name} and {ranges[i].Name} overlap");
        }
    }
}
