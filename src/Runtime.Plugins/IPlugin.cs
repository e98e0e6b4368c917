namespace Runtime.Plugins;

/// <summary>
/// A configured plugin instance. Kind-specific contracts (scorer, picker, ordering policy, ...)
/// extend this in the projects that implement them; a plugin may serve several kinds.
/// </summary>
public interface IPlugin
{
    /// <summary>The registered type, e.g. <c>queue-scorer</c>.</summary>
    string TypeName { get; }

    /// <summary>The instance name other config entries refer to (defaults to the type name).</summary>
    string Name { get; }
}
