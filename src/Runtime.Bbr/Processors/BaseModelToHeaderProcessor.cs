using System.Text;
using Runtime.Bbr.Mappings;

namespace Runtime.Bbr.Processors;

/// <summary>
/// <c>base-model-to-header</c>: sets <c>X-Gateway-Base-Model-Name</c> to the base model of the
/// requested LoRA adapter (a base model maps to itself; an unknown model gets an empty value,
/// as the Go router does), so one route can serve a base model and all its adapters.
/// </summary>
internal sealed class BaseModelToHeaderProcessor : IBbrRequestProcessor
{
    public const string TypeNameValue = "base-model-to-header";
    public const string HeaderName = "X-Gateway-Base-Model-Name";

    private readonly BaseModelMappingSource _mappings;

    public BaseModelToHeaderProcessor(string name, BaseModelMappingSource mappings)
    {
        Name = name;
        _mappings = mappings;
    }

    public string TypeName => TypeNameValue;

    public string Name { get; }

    public IReadOnlyList<string> BodyFields { get; } = ["model"];

    public bool ProcessRequest(BbrRequest request)
    {
        if (!request.HasModel)
        {
            return true;
        }

        // Model names are short; decode on the stack and look up without allocating a string.
        Span<char> model = stackalloc char[Encoding.UTF8.GetMaxCharCount(Math.Min(request.ModelLength, 1024))];
        if (request.ModelLength > 1024 || !Encoding.UTF8.TryGetChars(request.Model, model, out var chars))
        {
            request.SetHeader(HeaderName, []);
            return true;
        }

        // Surrounding whitespace is trimmed before the lookup, as in Go.
        if (_mappings.Current.TryGetBaseModel(model[..chars].Trim(), out var baseModel))
        {
            var max = Encoding.UTF8.GetMaxByteCount(baseModel.Length);
            Span<byte> utf8 = max <= 1024 ? stackalloc byte[max] : new byte[max];
            var written = Encoding.UTF8.GetBytes(baseModel, utf8);
            request.SetHeader(HeaderName, utf8[..written]);
        }
        else
        {
            request.SetHeader(HeaderName, []);
        }

        return true;
    }
}
