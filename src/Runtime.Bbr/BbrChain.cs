using Runtime.BodyParsing;

namespace Runtime.Bbr;

/// <summary>
/// The configured processors, in order, and the one field set their body reads are scanned
/// with (built once, so each request scans the body a single time).
/// </summary>
internal sealed class BbrChain
{
    public BbrChain(IReadOnlyList<IBbrRequestProcessor> requestProcessors, IReadOnlyList<IBbrResponseProcessor> responseProcessors)
    {
        RequestProcessors = requestProcessors;
        ResponseProcessors = responseProcessors;
        var names = new List<string> { "model" };
        foreach (var processor in requestProcessors)
        {
            foreach (var field in processor.BodyFields)
            {
                if (!names.Contains(field, StringComparer.Ordinal))
                {
                    names.Add(field);
                }
            }
        }

        Fields = new JsonFieldSet([.. names]);
        ModelField = Fields.IndexOf("model");
    }

    public IReadOnlyList<IBbrRequestProcessor> RequestProcessors { get; }

    public IReadOnlyList<IBbrResponseProcessor> ResponseProcessors { get; }

    public JsonFieldSet Fields { get; }

    public int ModelField { get; }
}
