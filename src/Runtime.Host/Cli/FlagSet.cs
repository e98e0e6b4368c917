using System.Globalization;
using Runtime.Plugins.Values;

namespace Runtime.Host.Cli;

/// <summary>
/// Command-line flags parsed the way Go's <c>flag</c> package does, so the Go endpoint
/// picker's container args work unchanged: <c>-name value</c>, <c>--name value</c>,
/// <c>-name=value</c>, <c>--name=value</c>; a boolean flag alone means true and takes a value
/// only with <c>=</c>. Every problem is collected, not just the first. A flag can carry a
/// deprecation message (printed when it is used, as pflag does) and a note saying what it does
/// here when that differs from the Go binary (shown by <c>--help</c>; see <see cref="Notes"/>).
/// </summary>
internal sealed class FlagSet
{
    private readonly Dictionary<string, Flag> _flags = new(StringComparer.Ordinal);
    private readonly List<string> _errors = [];

    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Flags given on the command line (by name), in order.</summary>
    public List<string> Given { get; } = [];

    /// <summary>Deprecation and "no effect" notices for the flags given, one line each, for the start-up log.</summary>
    public IEnumerable<string> Notes => Given.Distinct().Select(name => _flags[name]).SelectMany(Notices);

    /// <summary>True when <paramref name="name"/> was given on the command line.</summary>
    public bool IsSet(string name) => Given.Contains(name);

    /// <summary>Marks a flag deprecated: still parsed, and using it prints <c>Flag --name has been deprecated, message</c>.</summary>
    public FlagSet Deprecate(string name, string message)
    {
        _flags[name] = _flags[name] with { Deprecation = message };
        return this;
    }

    /// <summary>Says what a flag does here when it differs from the Go binary (e.g. "no effect: …").</summary>
    public FlagSet Note(string name, string note)
    {
        _flags[name] = _flags[name] with { Note = note };
        return this;
    }

    public void String(string name, string defaultValue, string usage, Action<string> set) =>
        Add(name, usage, defaultValue, isBool: false, value =>
        {
            set(value);
            return true;
        });

    /// <summary>A flag that may be given several times; each value is kept in order.</summary>
    public void Repeated(string name, string usage, List<string> into) =>
        Add(name, usage, "none", isBool: false, value =>
        {
            into.Add(value);
            return true;
        });

    /// <summary>A comma-separated list of integers, as pflag's <c>ints</c>.</summary>
    public void Ints(string name, string usage, Action<int[]> set) =>
        Add(name, usage, "[]", isBool: false, value =>
        {
            var parts = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var parsed = new int[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out parsed[i]))
                {
                    return false;
                }
            }

            set(parsed);
            return true;
        });

    public void Int(string name, int defaultValue, string usage, Action<int> set) =>
        Add(name, usage, defaultValue.ToString(CultureInfo.InvariantCulture), isBool: false, value =>
        {
            if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed))
            {
                return false;
            }

            set(parsed);
            return true;
        });

    public void Bool(string name, bool defaultValue, string usage, Action<bool> set) =>
        Add(name, usage, defaultValue ? "true" : "false", isBool: true, value =>
        {
            if (!TryParseGoBool(value, out var parsed))
            {
                return false;
            }

            set(parsed);
            return true;
        });

    public void Duration(string name, TimeSpan defaultValue, string usage, Action<TimeSpan> set) =>
        Add(name, usage, GoDuration.Format(defaultValue), isBool: false, value =>
        {
            if (!GoDuration.TryParse(value, out var parsed))
            {
                return false;
            }

            set(parsed);
            return true;
        });

    public bool Parse(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                break;
            }

            if (arg.Length < 2 || arg[0] != '-')
            {
                _errors.Add($"unexpected argument \"{arg}\"");
                continue;
            }

            var body = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : arg[1..];
            string? value = null;
            var eq = body.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = body[(eq + 1)..];
                body = body[..eq];
            }

            if (!_flags.TryGetValue(body, out var flag))
            {
                _errors.Add($"flag provided but not defined: -{body}");
                continue;
            }

            if (value is null)
            {
                if (flag.IsBool)
                {
                    value = "true";
                }
                else if (i + 1 < args.Count)
                {
                    value = args[++i];
                }
                else
                {
                    _errors.Add($"flag needs an argument: -{body}");
                    continue;
                }
            }

            bool ok;
            try
            {
                ok = flag.Set(value);
            }
            catch (FormatException ex)
            {
                _errors.Add($"invalid value \"{value}\" for flag -{body}: {ex.Message}");
                continue;
            }

            if (!ok)
            {
                _errors.Add($"invalid value \"{value}\" for flag -{body}");
                continue;
            }

            Given.Add(body);
        }

        return _errors.Count == 0;
    }

    public string Usage()
    {
        var lines = new List<string>();
        foreach (var (name, flag) in _flags.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            lines.Add($"  --{name}{(flag.IsBool ? string.Empty : " value")}\n        {flag.Usage} (default {flag.Default})");
            lines.AddRange(Notices(flag).Select(notice => "        " + notice[(notice.IndexOf(',', StringComparison.Ordinal) + 2)..]));
        }

        return string.Join('\n', lines);
    }

    private static IEnumerable<string> Notices(Flag flag)
    {
        if (flag.Deprecation is not null)
        {
            yield return $"Flag --{flag.Name} has been deprecated, {flag.Deprecation}";
        }

        if (flag.Note is not null)
        {
            yield return $"Flag --{flag.Name}, here: {flag.Note}";
        }
    }

    private void Add(string name, string usage, string defaultValue, bool isBool, Func<string, bool> set) =>
        _flags.Add(name, new Flag(name, usage, defaultValue, isBool, set));

    private static bool TryParseGoBool(string value, out bool parsed)
    {
        switch (value)
        {
            case "1" or "t" or "T" or "true" or "TRUE" or "True":
                parsed = true;
                return true;
            case "0" or "f" or "F" or "false" or "FALSE" or "False":
                parsed = false;
                return true;
            default:
                parsed = false;
                return false;
        }
    }

    private sealed record Flag(string Name, string Usage, string Default, bool IsBool, Func<string, bool> Set)
    {
        public string? Deprecation { get; init; }

        public string? Note { get; init; }
    }
}
