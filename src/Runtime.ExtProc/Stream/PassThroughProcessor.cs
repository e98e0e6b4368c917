namespace Runtime.ExtProc.Stream;

/// <summary>
/// Continues every phase unchanged; in full duplex echoes each body chunk back (in pieces of
/// at most <see cref="ExtProcOptions.StreamedChunkSize"/>). The transport floor that other
/// processors are measured against.
/// </summary>
internal sealed class PassThroughProcessor : IExtProcProcessor
{
    private static readonly PassThroughHandler s_handler = new();

    public string Name => "pass-through";

    // The handler keeps no state, so every stream shares one instance.
    public ExtProcStreamHandler RentHandler() => s_handler;

    public void ReturnHandler(ExtProcStreamHandler handler)
    {
    }

    private sealed class PassThroughHandler : ExtProcStreamHandler
    {
    }
}
