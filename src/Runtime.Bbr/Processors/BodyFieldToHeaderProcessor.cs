using Runtime.Primitives.Buffers;

namespace Runtime.Bbr.Processors;

/// <summary>
/// <c>body-field-to-header</c>: copies a top-level string field into a request header (by
/// default <c>model</c> → <c>X-Gateway-Model-Name</c>, which HTTPRoutes match on). A missing
/// or empty field leaves the request untouched and is counted (<c>bbr_body_field_not_found_total</c>,
/// <c>bbr_body_field_empty_total</c>); a non-string one is a 400.
/// </summary>
internal sealed class BodyFieldToHeaderProcessor : IBbrRequestProcessor
{
    public const string TypeNameValue = "body-field-to-header";
    public const string DefaultField = "model";
    public const string DefaultHeader = "X-Gateway-Model-Name";

    private readonly BbrMetrics? _metrics;

    public BodyFieldToHeaderProcessor(string name, string field = DefaultField, string header = DefaultHeader, BbrMetrics? metrics = null)
    {
        Name = name;
        FieldName = field;
        HeaderName = header;
        BodyFields = [field];
        _metrics = metrics;
    }

    public string TypeName => TypeNameValue;

    public string Name { get; }

    public string FieldName { get; }

    public string HeaderName { get; }

    public IReadOnlyList<string> BodyFields { get; }

    public bool ProcessRequest(BbrRequest request)
    {
        var field = request.FieldIndex(FieldName);
        ref readonly var value = ref request.Field(field);
        if (!value.IsPresent)
        {
            _metrics?.RecordFieldNotFound(FieldName);
            return true;
        }

        if (value.TokenType != System.Text.Json.JsonTokenType.String)
        {
            return request.Reject(400, $"{FieldName} must be a string");
        }

        if (field == request.Chain.ModelField)
        {
            // The model may have been changed by a model selector earlier in the chain.
            if (!request.HasModel)
            {
                return Empty();
            }

            request.SetHeader(HeaderName, request.Model);
        }
        else
        {
            var buffer = PooledBuffers.Rent(Math.Max(1, request.GetMaxStringLength(field)));
            request.TryGetString(field, buffer, out var written);
            if (written > 0)
            {
                request.SetHeader(HeaderName, buffer.AsSpan(0, written));
            }

            PooledBuffers.Return(buffer);
            if (written == 0)
            {
                return Empty();
            }
        }

        _metrics?.RecordSuccess();
        return true;
    }

    /// <summary>As Go: an empty value sets no header (a route cannot match on it) and is counted.</summary>
    private bool Empty()
    {
        _metrics?.RecordFieldEmpty(FieldName);
        return true;
    }
}
