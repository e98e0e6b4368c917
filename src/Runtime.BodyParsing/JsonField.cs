using System.Text.Json;

namespace Runtime.BodyParsing;

/// <summary>
/// Where one requested top-level property sits in the scanned body (byte offsets from the
/// body's start) and what kind of value it holds. Offsets are what the rewriter needs to
/// replace the value or remove the whole property, commas included. When the name occurs more
/// than once, the last occurrence wins (as <c>JsonElement.GetProperty</c> does) and
/// <see cref="Occurrences"/> tells how many there were.
/// </summary>
public struct JsonField
{
    /// <summary><see cref="JsonTokenType.None"/> when the property is absent.</summary>
    public JsonTokenType TokenType { readonly get; internal set; }

    /// <summary>Position among the top-level properties (0-based).</summary>
    public int PropertyIndex { readonly get; internal set; }

    /// <summary>How many times the name occurred at top level.</summary>
    public int Occurrences { readonly get; internal set; }

    /// <summary>Offset of the name's opening quote.</summary>
    public long NameStart { readonly get; internal set; }

    /// <summary>Offset of the value's first byte (a string's opening quote).</summary>
    public long ValueStart { readonly get; internal set; }

    /// <summary>Offset just past the value's last byte (past a string's closing quote, an object's brace).</summary>
    public long ValueEnd { readonly get; internal set; }

    /// <summary>End of the previous property's value, or -1 when this is the first property.</summary>
    public long PreviousValueEnd { readonly get; internal set; }

    /// <summary>Name start of the next property, or -1 when this is the last property.</summary>
    public long NextNameStart { readonly get; internal set; }

    /// <summary>For an array: its element count; otherwise 0.</summary>
    public int ElementCount { readonly get; internal set; }

    /// <summary>For an array: the kind of its first element; otherwise <see cref="JsonElementKinds.None"/>.</summary>
    public JsonElementKinds FirstElementKind { readonly get; internal set; }

    /// <summary>For an array: every kind its elements had (flags); otherwise <see cref="JsonElementKinds.None"/>.</summary>
    public JsonElementKinds ElementKinds { readonly get; internal set; }

    /// <summary>For a string: whether it contains escape sequences (so its raw bytes are not its value).</summary>
    public bool ValueIsEscaped { readonly get; internal set; }

    public readonly bool IsPresent => TokenType != JsonTokenType.None;

    public readonly long ValueLength => ValueEnd - ValueStart;

    public readonly JsonElementKinds Kind => TokenType.ToKind();
}
