using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Runtime.BodyParsing;

/// <summary>
/// JSON value kinds as flags, so one field can say which kinds an array's elements had
/// (a `prompt` of token ids is <c>Array</c> with elements exactly <see cref="Number"/>; a list of
/// strings has exactly <see cref="String"/>).
/// </summary>
[Flags]
[SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "JSON's own kind names, as in JsonValueKind.")]
public enum JsonElementKinds
{
    None = 0,
    String = 1,
    Number = 2,
    Boolean = 4,
    Null = 8,
    Object = 16,
    Array = 32,
}

internal static class JsonElementKindsExtensions
{
    public static JsonElementKinds ToKind(this JsonTokenType tokenType) => tokenType switch
    {
        JsonTokenType.String => JsonElementKinds.String,
        JsonTokenType.Number => JsonElementKinds.Number,
        JsonTokenType.True or JsonTokenType.False => JsonElementKinds.Boolean,
        JsonTokenType.Null => JsonElementKinds.Null,
        JsonTokenType.StartObject => JsonElementKinds.Object,
        JsonTokenType.StartArray => JsonElementKinds.Array,
        _ => JsonElementKinds.None,
    };
}
