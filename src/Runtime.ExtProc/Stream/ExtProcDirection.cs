namespace Runtime.ExtProc.Stream;

/// <summary>The HTTP request travelling upstream, or the response travelling back.</summary>
internal enum ExtProcDirection : byte
{
    Request = 0,
    Response = 1,
}
