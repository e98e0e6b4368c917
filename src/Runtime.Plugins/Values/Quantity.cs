using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Runtime.Plugins.Values;

/// <summary>
/// A Kubernetes resource quantity (<c>1Gi</c>, <c>500M</c>, <c>5k</c>, <c>1e9</c>, <c>1024</c>) as the Go
/// project's <c>resource.Quantity</c> fields accept it, resolved to a whole number. Fractions round
/// up, as <c>Quantity.Value()</c> does in Go.
/// </summary>
/// <param name="Value">The whole-number value (bytes, requests, ...).</param>
/// <param name="Text">What the file said, kept for messages and round-trips.</param>
[JsonConverter(typeof(QuantityJsonConverter))]
public readonly record struct Quantity(long Value, string Text)
{
    public const string Expected =
        "expected a number with an optional suffix: Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), k, M, G, T, P, E (powers of 1000), or an exponent such as 1e9";

    public static Quantity Of(long value) => new(value, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Accepts a quantity string or a plain number (YAML <c>maxBytes: 1024</c> arrives as a number).</summary>
    public static bool TryParse(JsonElement element, out Quantity quantity, out string error) => element.ValueKind switch
    {
        JsonValueKind.String => TryParse(element.GetString()!, out quantity, out error),
        JsonValueKind.Number => TryParse(element.GetRawText(), out quantity, out error),
        _ => Fail($"{Expected}, got {JsonKinds.Describe(element.ValueKind)}", out quantity, out error),
    };

    public static bool TryParse(string text, out Quantity quantity, out string error)
    {
        var span = text.AsSpan().Trim();
        var end = 0;
        if (end < span.Length && span[end] is '+' or '-')
        {
            end++;
        }

        var digitsStart = end;
        while (end < span.Length && (char.IsAsciiDigit(span[end]) || span[end] == '.'))
        {
            end++;
        }

        var numberText = span[..end];
        if (end == digitsStart || numberText[digitsStart..] is "." ||
            !decimal.TryParse(numberText, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return Fail($"invalid quantity \"{text}\": {Expected}", out quantity, out error);
        }

        if (!TryMultiplier(span[end..], out var multiplier))
        {
            return Fail($"invalid quantity \"{text}\": {Expected}", out quantity, out error);
        }

        decimal exact;
        try
        {
            exact = number * multiplier;
        }
        catch (OverflowException)
        {
            return Fail($"quantity \"{text}\" is too large", out quantity, out error);
        }

        var rounded = decimal.Ceiling(exact);
        if (rounded > long.MaxValue || rounded < long.MinValue)
        {
            return Fail($"quantity \"{text}\" is too large", out quantity, out error);
        }

        quantity = new Quantity((long)rounded, text);
        error = string.Empty;
        return true;
    }

    public override string ToString() => Text;

    private static bool TryMultiplier(ReadOnlySpan<char> suffix, out decimal multiplier)
    {
        multiplier = suffix switch
        {
            "" => 1m,
            "n" => 0.000_000_001m,
            "u" => 0.000_001m,
            "m" => 0.001m,
            "k" => 1_000m,
            "M" => 1_000_000m,
            "G" => 1_000_000_000m,
            "T" => 1_000_000_000_000m,
            "P" => 1_000_000_000_000_000m,
            "E" => 1_000_000_000_000_000_000m,
            "Ki" => 1L << 10,
            "Mi" => 1L << 20,
            "Gi" => 1L << 30,
            "Ti" => 1L << 40,
            "Pi" => 1L << 50,
            "Ei" => 1L << 60,
            _ => 0m,
        };
        if (multiplier != 0m)
        {
            return true;
        }

        // Decimal exponent: e<signed integer> or E<signed integer>. Beyond 10^18 no long fits anyway.
        if (suffix.Length >= 2 && suffix[0] is 'e' or 'E' &&
            int.TryParse(suffix[1..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exponent) &&
            exponent is >= -18 and <= 18)
        {
            multiplier = 1m;
            for (var i = 0; i < Math.Abs(exponent); i++)
            {
                multiplier = exponent > 0 ? multiplier * 10m : multiplier / 10m;
            }

            return true;
        }

        return false;
    }

    private static bool Fail(string message, out Quantity quantity, out string error)
    {
        quantity = default;
        error = message;
        return false;
    }
}

/// <summary>Reads quantity strings or numbers; writes the original text.</summary>
public sealed class QuantityJsonConverter : JsonConverter<Quantity>
{
    public override Quantity Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return Quantity.TryParse(document.RootElement, out var quantity, out var error) ? quantity : throw new JsonException(error);
    }

    public override void Write(Utf8JsonWriter writer, Quantity value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Text);
}
