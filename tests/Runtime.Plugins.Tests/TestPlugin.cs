namespace Runtime.Plugins.Tests;

internal sealed record TestPlugin(string TypeName, string Name) : IPlugin;
