using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Runtime.Plugins.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Runtime.Configuration.Yaml;

/// <summary>A YAML document converted to JSON, with the YAML position of every field path.</summary>
internal sealed record YamlJsonDocument(JsonDocument Json, SourceMap Positions) : IDisposable
{
    public void Dispose() => Json.Dispose();
}

/// <summary>
/// One document of a multi-document YAML stream: where it starts, its JSON (null when it could not
/// be converted; <see cref="Errors"/> says why) and the YAML position of every field path.
/// </summary>
internal sealed record YamlStreamDocument(SourcePosition Start, JsonDocument? Json, SourceMap Positions, ValidationErrors Errors) : IDisposable
{
    public void Dispose() => Json?.Dispose();
}

/// <summary>
/// Converts YAML to JSON through YamlDotNet's node model (its typed deserializer needs reflection
/// and fails under native AOT). Untagged plain scalars are typed with the YAML 1.2 core schema
/// (null, true/false, integers, floats); quoted scalars stay strings. This matches what the Go
/// project's YAML-to-JSON step hands its strict JSON decoder for the files it accepts.
/// </summary>
internal static partial class YamlToJson
{
    private const string StringTag = "tag:yaml.org,2002:str";

    /// <summary>Returns null and reports at the document root (with the YAML line) when the text is not one valid YAML document.</summary>
    public static YamlJsonDocument? Convert(string yaml, ValidationErrors errors, out SourcePosition? errorPosition)
    {
        var documents = Load(yaml, errors, out errorPosition);
        if (documents is null)
        {
            return null;
        }

        if (documents.Length == 0)
        {
            errors.ReportInvalid(string.Empty, "the configuration is empty");
            return null;
        }

        if (documents.Length > 1)
        {
            var second = documents[1].RootNode.Start;
            errorPosition = new SourcePosition((int)second.Line, (int)second.Column);
            errors.ReportInvalid(string.Empty, $"expected one YAML document, found {documents.Length} (separated by ---)");
            return null;
        }

        var positions = new SourceMap();
        var json = ConvertNode(documents[0].RootNode, positions, errors, out errorPosition);
        return json is null ? null : new YamlJsonDocument(json, positions);
    }

    /// <summary>
    /// Converts every document of a multi-document stream (Kubernetes manifests separated by
    /// <c>---</c>); empty documents are skipped. Returns null and reports at the stream root (with
    /// the YAML line) when the text is not valid YAML; a document whose content cannot become JSON
    /// (duplicate keys, complex keys) comes back without JSON and with its own errors.
    /// </summary>
    public static IReadOnlyList<YamlStreamDocument>? ConvertStream(string yaml, ValidationErrors errors, out SourcePosition? errorPosition)
    {
        var documents = Load(yaml, errors, out errorPosition);
        if (documents is null)
        {
            return null;
        }

        var converted = new List<YamlStreamDocument>(documents.Length);
        foreach (var document in documents)
        {
            var positions = new SourceMap();
            var documentErrors = new ValidationErrors();
            var json = ConvertNode(document.RootNode, positions, documentErrors, out _);
            var start = document.RootNode.Start;
            converted.Add(new YamlStreamDocument(new SourcePosition((int)start.Line, (int)start.Column), json, positions, documentErrors));
        }

        return converted;
    }

    private static JsonDocument? ConvertNode(YamlNode root, SourceMap positions, ValidationErrors errors, out SourcePosition? errorPosition)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        var converter = new Converter(positions, errors);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            converter.Write(writer, root, string.Empty);
        }

        errorPosition = converter.FirstErrorPosition;
        return converter.Failed ? null : JsonDocument.Parse(buffer.WrittenMemory);
    }

    /// <summary>Parses the stream; null (reported, with the position) on a syntax error. Empty documents are dropped.</summary>
    /// <summary>
    /// An error position on a line the text has: at the end of the text YamlDotNet reports the line
    /// after the last one (found by fuzzing: "fuzz.yaml:2" for a one-line file); that is the end of the last line.
    /// </summary>
    private static SourcePosition InsideText(string yaml, int line, int column)
    {
        var lines = 1;
        var lastLineStart = 0;
        for (var i = 0; i < yaml.Length; i++)
        {
            var c = yaml[i];
            if (c is '\n' or '\u0085' or '\u2028' or '\u2029' || (c == '\r' && (i + 1 == yaml.Length || yaml[i + 1] != '\n')))
            {
                lines++;
                lastLineStart = i + 1;
            }
        }

        return line <= lines ? new SourcePosition(line, column) : new SourcePosition(lines, yaml.Length - lastLineStart + 1);
    }

    private static YamlDocument[]? Load(string yaml, ValidationErrors errors, out SourcePosition? errorPosition)
    {
        errorPosition = null;
        var stream = new YamlStream();
        using var reader = new StringReader(yaml);
        var scanner = new Scanner(reader);
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException ex)
        {
            errorPosition = InsideText(yaml, (int)ex.Start.Line, (int)ex.Start.Column);
            errors.ReportInvalid(string.Empty, $"YAML syntax error: {Describe(ex)}");
            return null;
        }
#pragma warning disable CA1031 // Malformed input must become an error with a line, never a crash.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            // YamlDotNet throws plain exceptions for some truncated input (an unclosed flow map at
            // the end of the text); the scanner still knows where it stopped.
            errorPosition = InsideText(yaml, (int)scanner.CurrentPosition.Line, (int)scanner.CurrentPosition.Column);
            errors.ReportInvalid(string.Empty, "YAML syntax error: the text ends inside an unfinished value (an unclosed {, [ or quote?)");
            return null;
        }

        // A stream of only "---" or comments holds one empty document: treat it as no document.
        return [.. stream.Documents.Where(d => d.RootNode is not YamlScalarNode { Value: null or "", Style: ScalarStyle.Plain })];
    }

    private static string Describe(YamlException ex)
    {
        // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; we report the position ourselves.
        var message = ex.InnerException is YamlException inner ? inner.Message : ex.Message;
        var cut = message.LastIndexOf("): ", StringComparison.Ordinal);
        return cut >= 0 && message.StartsWith("(Line:", StringComparison.Ordinal) ? message[(cut + 3)..] : message;
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex DecimalInteger();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")]
    private static partial Regex JsonNumber();

    private sealed class Converter(SourceMap positions, ValidationErrors errors)
    {
        public bool Failed { get; private set; }

        public SourcePosition? FirstErrorPosition { get; private set; }

        public void Write(Utf8JsonWriter writer, YamlNode node, string path)
        {
            positions.Add(path, Position(node.Start));
            switch (node)
            {
                case YamlMappingNode mapping:
                    WriteMapping(writer, mapping, path);
                    break;
                case YamlSequenceNode sequence:
                    writer.WriteStartArray();
                    for (var i = 0; i < sequence.Children.Count; i++)
                    {
                        Write(writer, sequence.Children[i], FieldPath.Index(path, i));
                    }

                    writer.WriteEndArray();
                    break;
                case YamlScalarNode scalar:
                    WriteScalar(writer, scalar);
                    break;
                default:
                    Fail(path, node.Start, "unsupported YAML node");
                    writer.WriteNullValue();
                    break;
            }
        }

        private void WriteMapping(Utf8JsonWriter writer, YamlMappingNode mapping, string path)
        {
            writer.WriteStartObject();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (keyNode, valueNode) in mapping.Children)
            {
                if (keyNode is not YamlScalarNode { Value: { } key })
                {
                    Fail(path, keyNode.Start, "mapping keys must be plain strings");
                    continue;
                }

                var fieldPath = FieldPath.Field(path, key);
                if (!seen.Add(key))
                {
                    Fail(fieldPath, keyNode.Start, $"duplicate key \"{key}\"");
                    continue;
                }

                // Errors about a field (unknown, wrong type) point at its key's line.
                positions.Add(fieldPath, Position(keyNode.Start));
                writer.WritePropertyName(key);
                Write(writer, valueNode, fieldPath);
            }

            writer.WriteEndObject();
        }

        private static void WriteScalar(Utf8JsonWriter writer, YamlScalarNode scalar)
        {
            var value = scalar.Value ?? string.Empty;
            // A quoted scalar, or one tagged !!str, is a string whatever it looks like ("5", 'true').
            if (scalar.Style is not ScalarStyle.Plain || (!scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific && scalar.Tag.Value == StringTag))
            {
                writer.WriteStringValue(value);
                return;
            }

            switch (value)
            {
                case "" or "~" or "null" or "Null" or "NULL":
                    writer.WriteNullValue();
                    return;
                case "true" or "True" or "TRUE":
                    writer.WriteBooleanValue(true);
                    return;
                case "false" or "False" or "FALSE":
                    writer.WriteBooleanValue(false);
                    return;
            }

            if (DecimalInteger().IsMatch(value))
            {
                if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                {
                    writer.WriteNumberValue(integer);
                    return;
                }

                if (decimal.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big))
                {
                    writer.WriteNumberValue(big);
                    return;
                }
            }
            else if (value.StartsWith("0x", StringComparison.Ordinal) &&
                long.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
            {
                writer.WriteNumberValue(hex);
                return;
            }
            else if (Float().IsMatch(value) &&
                double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
            {
                // Keep the author's spelling ("1e9", "0.8") when it is valid JSON; normalise ".5", "5." and "+1.5".
                if (JsonNumber().IsMatch(value))
                {
                    writer.WriteRawValue(value, skipInputValidation: false);
                }
                else
                {
                    writer.WriteNumberValue(real);
                }

                return;
            }

            writer.WriteStringValue(value);
        }

        private void Fail(string path, Mark mark, string message)
        {
            if (!Failed)
            {
                FirstErrorPosition = Position(mark);
            }

            Failed = true;
            positions.Add(path, Position(mark));
            errors.ReportInvalid(path, message);
        }

        private static SourcePosition Position(Mark mark) => new((int)mark.Line, (int)mark.Column);
    }
}
