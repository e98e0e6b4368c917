using Runtime.Proto.Envoy.Service.ExtProc.V3;

namespace Runtime.TestSupport.ExtProc;

/// <summary>Compact descriptions of ext_proc messages for failure messages.</summary>
public static class ExtProcFormatting
{
    public static string Summarize(ProcessingResponse response)
    {
        CommonResponse? common = response.ResponseCase switch
        {
            ProcessingResponse.ResponseOneofCase.RequestHeaders => response.RequestHeaders.Response,
            ProcessingResponse.ResponseOneofCase.ResponseHeaders => response.ResponseHeaders.Response,
            ProcessingResponse.ResponseOneofCase.RequestBody => response.RequestBody.Response,
            ProcessingResponse.ResponseOneofCase.ResponseBody => response.ResponseBody.Response,
            _ => null,
        };

        if (response.ResponseCase == ProcessingResponse.ResponseOneofCase.ImmediateResponse)
        {
            return $"immediate_response status={response.ImmediateResponse.Status?.Code} details='{response.ImmediateResponse.Details}'";
        }

        if (common is null)
        {
            return response.ResponseCase.ToString();
        }

        var text = $"{response.ResponseCase} status={common.Status}";
        if (common.HeaderMutation is { } headers)
        {
            text += $" set={headers.SetHeaders.Count} remove={headers.RemoveHeaders.Count}";
        }

        return common.BodyMutation?.MutationCase switch
        {
            BodyMutation.MutationOneofCase.StreamedResponse =>
                $"{text} streamed={common.BodyMutation.StreamedResponse.Body.Length}B eos={common.BodyMutation.StreamedResponse.EndOfStream}",
            BodyMutation.MutationOneofCase.Body => $"{text} body={common.BodyMutation.Body.Length}B",
            BodyMutation.MutationOneofCase.ClearBodyFlag => $"{text} clear_body={common.BodyMutation.ClearBodyFlag}",
            _ => text,
        };
    }
}
