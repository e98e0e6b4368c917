namespace Runtime.Plugins.Registry;

/// <summary>A registration the registry refused, with the plugin type (or gate) it concerns.</summary>
public sealed record RegistrationError(string Subject, string Message)
{
    public override string ToString() => $"{Subject}: {Message}";
}
