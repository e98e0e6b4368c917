using System.Text;

namespace Runtime.BodyParsing;

/// <summary>
/// The top-level property names a <see cref="JsonBodyScanner"/> looks for, encoded to UTF-8
/// once (at config load) so scanning compares bytes and never builds a string. Immutable and
/// safe to share between threads; the field index is the position in the constructor's list.
/// The per-field error texts are built here too, so reporting "model must be a string" on the
/// request path costs nothing.
/// </summary>
public sealed class JsonFieldSet
{
    /// <summary>A scanner keeps its per-field results in a fixed array; this bounds its size and the per-property compare loop.</summary>
    public const int MaxFields = 32;

    private readonly byte[][] _utf8Names;
    private readonly string[] _names;
    private readonly string[][] _messages;

    public JsonFieldSet(params ReadOnlySpan<string> names)
    {
        if (names.Length == 0 || names.Length > MaxFields)
        {
            throw new ArgumentOutOfRangeException(nameof(names), $"A field set holds 1 to {MaxFields} names.");
        }

        _utf8Names = new byte[names.Length][];
        _names = new string[names.Length];
        _messages = new string[names.Length][];
        for (var i = 0; i < names.Length; i++)
        {
            var name = names[i];
            ArgumentException.ThrowIfNullOrEmpty(name, nameof(names));
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(_names[j], name, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"Field '{name}' is listed twice.", nameof(names));
                }
            }

            _names[i] = name;
            _utf8Names[i] = Encoding.UTF8.GetBytes(name);
            _messages[i] =
            [
                $"{name} is required",
                $"{name} must be a string",
                $"{name} must be a boolean",
                $"{name} must be a number",
                $"{name} must be a non-empty array",
                $"{name} must be an object",
                $"{name} must be a string or an array",
            ];
        }
    }

    public int Count => _names.Length;

    public string GetName(int field) => _names[field];

    public ReadOnlySpan<byte> GetUtf8Name(int field) => _utf8Names[field];

    /// <summary>The field's index, or -1. Ordinal comparison, as JSON property names are.</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < _names.Length; i++)
        {
            if (string.Equals(_names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>A constant, preformatted error text for a field, e.g. "model must be a string".</summary>
    public string GetMessage(int field, JsonFieldProblem problem) => _messages[field][(int)problem];
}

/// <summary>What is wrong with a field's value; selects the text from <see cref="JsonFieldSet.GetMessage"/>.</summary>
public enum JsonFieldProblem
{
    Missing = 0,
    NotString = 1,
    NotBoolean = 2,
    NotNumber = 3,
    NotNonEmptyArray = 4,
    NotObject = 5,
    NotStringOrArray = 6,
}
