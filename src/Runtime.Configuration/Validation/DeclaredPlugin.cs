using Runtime.Plugins;
using Runtime.Plugins.Registry;

namespace Runtime.Configuration.Validation;

/// <summary>A plugin entry by its effective name. <see cref="Registration"/> is null when the type is unknown (already reported).</summary>
internal sealed record DeclaredPlugin(string Name, int Index, PluginRegistration? Registration)
{
    public string Path => $"plugins[{Index}]";

    public bool Is(PluginKinds kinds) => Registration is not null && (Registration.Kinds & kinds) != 0;
}
