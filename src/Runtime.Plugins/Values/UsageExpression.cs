using System.Globalization;

namespace Runtime.Plugins.Values;

/// <summary>
/// The subset of CEL that <c>request-attribute-reporter</c> expressions use, over the one variable
/// <c>usage</c> (a map of the response's token counts, numbers as doubles like a protobuf Struct):
/// number, bool and null literals; field selection (<c>usage.prompt_token_details.cached_tokens</c>);
/// <c>has(usage.field)</c>; <c>int(x)</c>, <c>double(x)</c>; unary <c>-</c> and <c>!</c>;
/// <c>* / % + -</c>; comparisons; <c>&amp;&amp;</c>, <c>||</c>; and <c>c ? a : b</c>.
/// </summary>
/// <remarks>
/// GIE compiles full CEL with cel-go. We compile this subset at config load, so an expression outside
/// it is a validation error with the position, never a silent no-op. One deliberate leniency: CEL
/// refuses <c>double + int</c> (no overload); we compute in doubles throughout.
/// </remarks>
public sealed class UsageExpression
{
    private readonly Node _root;

    private UsageExpression(Node root, string text)
    {
        _root = root;
        Text = text;
    }

    public string Text { get; }

    public static bool TryParse(string? text, out UsageExpression? expression, out string error)
    {
        expression = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "the expression is empty";
            return false;
        }

        var parser = new Parser(text);
        try
        {
            var root = parser.ParseExpression();
            parser.ExpectEnd();
            expression = new UsageExpression(root, text);
            error = string.Empty;
            return true;
        }
        catch (FormatException ex)
        {
            error = ex.Message;
            return false;
        }
    }

    /// <summary>Evaluates over <paramref name="usage"/> (values: double, bool, or nested dictionaries). False with a reason on a runtime error (missing key, wrong type).</summary>
    public bool TryEvaluate(IReadOnlyDictionary<string, object?> usage, out object? value, out string error)
    {
        try
        {
            value = _root.Evaluate(usage);
            error = string.Empty;
            return true;
        }
        catch (InvalidOperationException ex)
        {
            value = null;
            error = ex.Message;
            return false;
        }
    }

    private abstract class Node
    {
        public abstract object? Evaluate(IReadOnlyDictionary<string, object?> usage);

        protected static double Number(object? value, string operation) => value switch
        {
            double d => d,
            _ => throw new InvalidOperationException($"no such overload: {operation} on {Describe(value)}"),
        };

        protected static bool Bool(object? value, string operation) => value switch
        {
            bool b => b,
            _ => throw new InvalidOperationException($"no such overload: {operation} on {Describe(value)}"),
        };

        private static string Describe(object? value) => value switch
        {
            null => "null",
            double => "double",
            bool => "bool",
            _ => "map",
        };
    }

    private sealed class Literal(object? value) : Node
    {
        public override object? Evaluate(IReadOnlyDictionary<string, object?> usage) => value;
    }

    private sealed class Root : Node
    {
        public override object? Evaluate(IReadOnlyDictionary<string, object?> usage) => usage;
    }

    private sealed class Select(Node target, string field, bool testOnly) : Node
    {
        public Node TargetNode => target;

        public string FieldName => field;

        public override object? Evaluate(IReadOnlyDictionary<string, object?> usage)
        {
            var map = target.Evaluate(usage) as IReadOnlyDictionary<string, object?> ?? throw new InvalidOperationException($"cannot select \"{field}\" from a non-map value");
            var found = map.TryGetValue(field, out var value);
            return testOnly ? found : found ? value : throw new InvalidOperationException($"no such key: {field}");
        }
    }

    private sealed class Unary(char op, Node operand) : Node
    {
        public override object? Evaluate(IReadOnlyDictionary<string, object?> usage)
        {
            var value = operand.Evaluate(usage);
            return op == '!' ? !Bool(value, "!") : -Number(value, "-");
        }
    }

    private sealed class Convert(string function, Node operand) : Node
    {
        public override object? Evaluate(IReadOnlyDictionary<string, object?> usage)
        {
            var value = Number(operand.Evaluate(usage), function);
            return function == "int" ? Math.Truncate(value) : value;
        }
    }

    private sealed class Binary(string op, Node left, Node right) : Node
    {
        public override object? Evaluate(IReadOnlyDictionary<string, object?> usage)
        {
            switch (op)
            {
                case "&&":
                    // CEL's && and || are commutative with errors absorbed; left to right with short-circuit is the common case.
                    return Bool(left.Evaluate(usage), op) && Bool(right.Evaluate(usage), op);
                case "||":
                    return Bool(left.Evaluate(usage), op) || Bool(right.Evaluate(usage), op);
            }

            var a = left.Evaluate(usage);
            var b = right.Evaluate(usage);
            switch (op)
            {
                case "==":
                    return Equals(a, b);
                case "!=":
                    return !Equals(a, b);
            }

            var x = Number(a, op);
            var y = Number(b, op);
            return op switch
            {
                "+" => x + y,
                "-" => x - y,
                "*" => x * y,
                "/" => x / y,
                "%" => x % y,
                "<" => x < y,
                "<=" => x <= y,
                ">" => x > y,
                ">=" => x >= y,
                _ => throw new InvalidOperationException($"unknown operator {op}"),
            };
        }
    }

    private sealed class Conditional(Node condition, Node whenTrue, Node whenFalse) : Node
    {
        public override object? Evaluate(IReadOnlyDictionary<string, object?> usage) =>
            Bool(condition.Evaluate(usage), "?:") ? whenTrue.Evaluate(usage) : whenFalse.Evaluate(usage);
    }

    private sealed class Parser(string text)
    {
        private int _position;

        public Node ParseExpression()
        {
            var condition = ParseBinary(0);
            if (!TryTake("?"))
            {
                return condition;
            }

            var whenTrue = ParseExpression();
            Expect(":");
            var whenFalse = ParseExpression();
            return new Conditional(condition, whenTrue, whenFalse);
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_position < text.Length)
            {
                throw Error($"unexpected \"{text[_position]}\"");
            }
        }

        private static readonly string[][] s_levels =
        [
            ["||"],
            ["&&"],
            ["==", "!=", "<=", ">=", "<", ">"],
            ["+", "-"],
            ["*", "/", "%"],
        ];

        private Node ParseBinary(int level)
        {
            if (level == s_levels.Length)
            {
                return ParseUnary();
            }

            var left = ParseBinary(level + 1);
            while (TryTakeAny(s_levels[level], out var op))
            {
                left = new Binary(op, left, ParseBinary(level + 1));
            }

            return left;
        }

        private Node ParseUnary()
        {
            if (TryTake("!"))
            {
                return new Unary('!', ParseUnary());
            }

            return TryTake("-") ? new Unary('-', ParseUnary()) : ParsePostfix();
        }

        private Node ParsePostfix()
        {
            var node = ParsePrimary();
            while (TryTake("."))
            {
                node = new Select(node, Identifier(), testOnly: false);
            }

            return node;
        }

        private Node ParsePrimary()
        {
            SkipSpace();
            if (_position >= text.Length)
            {
                throw Error("unexpected end of expression");
            }

            var c = text[_position];
            if (char.IsAsciiDigit(c) || (c == '.' && _position + 1 < text.Length && char.IsAsciiDigit(text[_position + 1])))
            {
                return new Literal(Number());
            }

            if (TryTake("("))
            {
                var inner = ParseExpression();
                Expect(")");
                return inner;
            }

            var start = _position;
            var name = Identifier();
            switch (name)
            {
                case "true":
                    return new Literal(true);
                case "false":
                    return new Literal(false);
                case "null":
                    return new Literal(null);
                case "usage":
                    return new Root();
                case "has":
                    Expect("(");
                    var target = ParsePostfix();
                    Expect(")");
                    return target is Select select ? Test(select) : throw Error("has() takes a field selection such as usage.prompt_tokens", start);
                case "int" or "double":
                    Expect("(");
                    var operand = ParseExpression();
                    Expect(")");
                    return new Convert(name, operand);
                default:
                    throw Error($"undeclared reference to \"{name}\" (the only variable is usage)", start);
            }
        }

        private static Select Test(Select select) => new(select.TargetNode, select.FieldName, testOnly: true);

        private double Number()
        {
            var start = _position;
            while (_position < text.Length && (char.IsAsciiDigit(text[_position]) || text[_position] is '.' or 'e' or 'E' || (text[_position] is '+' or '-' && text[_position - 1] is 'e' or 'E')))
            {
                _position++;
            }

            // CEL's unsigned suffix.
            var end = _position;
            if (_position < text.Length && text[_position] is 'u' or 'U')
            {
                _position++;
            }

            return double.TryParse(text.AsSpan(start, end - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw Error($"invalid number \"{text[start..end]}\"", start);
        }

        private string Identifier()
        {
            SkipSpace();
            var start = _position;
            while (_position < text.Length && (char.IsAsciiLetterOrDigit(text[_position]) || text[_position] == '_'))
            {
                _position++;
            }

            if (_position == start || char.IsAsciiDigit(text[start]))
            {
                throw Error("expected an identifier", start);
            }

            return text[start.._position];
        }

        private bool TryTakeAny(string[] operators, out string op)
        {
            foreach (var candidate in operators)
            {
                if (TryTake(candidate))
                {
                    op = candidate;
                    return true;
                }
            }

            op = string.Empty;
            return false;
        }

        private bool TryTake(string token)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _position, token, 0, token.Length) != 0)
            {
                return false;
            }

            // "<" must not take the first half of "<=", nor "!" of "!=", nor "&" alone.
            var next = _position + token.Length;
            if (token is "<" or ">" or "!" or "=" && next < text.Length && text[next] == '=')
            {
                return false;
            }

            _position = next;
            return true;
        }

        private void Expect(string token)
        {
            if (!TryTake(token))
            {
                throw Error($"expected \"{token}\"");
            }
        }

        private void SkipSpace()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }

        private FormatException Error(string message, int? at = null) => new($"{message} at column {(at ?? _position) + 1}");
    }
}
