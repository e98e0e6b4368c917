namespace Runtime.ExtProc.Codec;

/// <summary>Which member of <c>ProcessingRequest.request</c> a message carries (values are the field numbers).</summary>
internal enum ProcessingRequestKind : byte
{
    None = 0,
    RequestHeaders = 2,
    ResponseHeaders = 3,
    RequestBody = 4,
    ResponseBody = 5,
    RequestTrailers = 6,
    ResponseTrailers = 7,
}

/// <summary>Which member of <c>ProcessingResponse.response</c> we send (values are the field numbers).</summary>
internal enum ProcessingResponseKind : byte
{
    None = 0,
    RequestHeaders = 1,
    ResponseHeaders = 2,
    RequestBody = 3,
    ResponseBody = 4,
    RequestTrailers = 5,
    ResponseTrailers = 6,
    ImmediateResponse = 7,
}

/// <summary><c>ProcessingMode.BodySendMode</c>.</summary>
public enum BodySendMode : byte
{
    None = 0,
    Streamed = 1,
    Buffered = 2,
    BufferedPartial = 3,
    FullDuplexStreamed = 4,
}

/// <summary><c>CommonResponse.ResponseStatus</c>.</summary>
internal enum CommonResponseStatus : byte
{
    Continue = 0,
    ContinueAndReplace = 1,
}
