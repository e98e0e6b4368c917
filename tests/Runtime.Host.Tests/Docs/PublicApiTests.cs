using System.Reflection;
using System.Text;
using Runtime.TestSupport.Hosting;
using Xunit;

namespace Runtime.Host.Tests.Docs;

/// <summary>
/// The public surface of the Runtime assemblies — what a plugin author outside this repository
/// can build on — is exactly docs/public-api.txt. Everything else is internal. A change to the
/// surface is a deliberate edit of that file: regenerate it with
/// <c>RUNTIME_WRITE_PUBLIC_API=1 dotnet test tests/Runtime.Host.Tests --filter PublicApi</c>
/// and review the diff.
/// </summary>
public sealed class PublicApiTests
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly string s_listing = RepositoryPaths.Combine("docs", "public-api.txt");

    [Fact]
    public void PublicSurface_IsTheCheckedInListing()
    {
        var actual = Render();
        if (Environment.GetEnvironmentVariable("RUNTIME_WRITE_PUBLIC_API") == "1")
        {
            File.WriteAllText(s_listing, actual);
        }

        var expected = File.Exists(s_listing) ? File.ReadAllText(s_listing) : string.Empty;
        var added = Lines(actual).Except(Lines(expected)).ToArray();
        var removed = Lines(expected).Except(Lines(actual)).ToArray();
        Assert.True(added.Length == 0 && removed.Length == 0,
            $"The public API changed (regenerate docs/public-api.txt if intended):{Environment.NewLine}"
            + string.Join(Environment.NewLine, added.Select(l => "+ " + l).Concat(removed.Select(l => "- " + l)).Take(60)));
    }

    [Fact]
    public void Host_ExposesNothing()
    {
        Assert.Empty(typeof(Runtime.Host.Cli.FlagSet).Assembly.GetExportedTypes());
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static IEnumerable<Assembly> RuntimeAssemblies() =>
        Directory.EnumerateFiles(AppContext.BaseDirectory, "Runtime.*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(name => Directory.Exists(RepositoryPaths.Combine("src", name!)))
            .Order(StringComparer.Ordinal)
            .Select(name => Assembly.Load(name!));

    private static string Render()
    {
        var text = new StringBuilder();
        foreach (var assembly in RuntimeAssemblies())
        {
            foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
            {
                text.Append(assembly.GetName().Name).Append(": ").Append(Kind(type)).Append(' ').Append(Name(type)).Append('\n');
                foreach (var member in type.GetMembers(Declared).Where(Visible).Select(Describe).Order(StringComparer.Ordinal))
                {
                    text.Append("  ").Append(Name(type)).Append("::").Append(member).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    private static bool Visible(MemberInfo member) => member switch
    {
        MethodBase m => (m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly) && !(m is MethodInfo { IsSpecialName: true }),
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        PropertyInfo p => p.GetAccessors(nonPublic: true).Any(a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
        EventInfo e => e.AddMethod is { } add && (add.IsPublic || add.IsFamily),
        Type => false,
        _ => false,
    };

    private static string Describe(MemberInfo member) => member switch
    {
        ConstructorInfo c => $"ctor({Parameters(c)})",
        MethodInfo m => $"{(m.IsStatic ? "static " : string.Empty)}{Name(m.ReturnType)} {m.Name}{(m.IsGenericMethod ? $"<{string.Join(",", m.GetGenericArguments().Select(Name))}>" : string.Empty)}({Parameters(m)})",
        PropertyInfo p => $"{Name(p.PropertyType)} {p.Name} {{{(p.GetMethod is { } g && !g.IsPrivate && !g.IsAssembly ? " get;" : string.Empty)}{(p.SetMethod is { } s && !s.IsPrivate && !s.IsAssembly ? " set;" : string.Empty)} }}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : string.Empty)}{Name(f.FieldType)} {f.Name}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        _ => member.Name,
    };

    private static string Parameters(MethodBase method) => string.Join(", ", method.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}"));

    private static string Kind(Type type) =>
        type.IsInterface ? "interface" : type.IsEnum ? "enum" : type.IsValueType ? "struct" : typeof(Delegate).IsAssignableFrom(type) ? "delegate" : type.IsAbstract && type.IsSealed ? "static class" : "class";

    private static string Name(Type type)
    {
        if (type.IsByRef)
        {
            return "ref " + Name(type.GetElementType()!);
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        var name = (type.IsNested ? Name(type.DeclaringType!) + "." : type.Namespace + ".") + type.Name;
        if (type.IsGenericType)
        {
            name = name[..name.IndexOf('`', StringComparison.Ordinal)] + "<" + string.Join(",", type.GetGenericArguments().Select(Name)) + ">";
        }

        return name;
    }
}
