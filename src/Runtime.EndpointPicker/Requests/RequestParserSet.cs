using System.Text;
using Runtime.EndpointPicker.Plugins;

namespace Runtime.EndpointPicker.Requests;

/// <summary>
/// Chooses the parser of each request by its path, as llm-d v0.10's ParserRegistry does: the parsers in
/// configured order, each claiming path suffixes (first match wins; one entry per parser type); a parser
/// claiming no path (<c>passthrough-parser</c>) is the fallback and ends the list. Without a match nor a
/// fallback the request is refused with llm-d's 400 text. A GIE configuration has one parser that reads
/// every path (<see cref="Single"/>).
/// </summary>
internal sealed class RequestParserSet
{
    private readonly (RequestParsing Parsing, byte[][] Suffixes)[] _entries;
    private readonly RequestParsing? _fallback;

    private RequestParserSet((RequestParsing, byte[][])[] entries, RequestParsing? fallback, IReadOnlyList<RequestParsing> active)
    {
        _entries = entries;
        _fallback = fallback;
        Active = active;
    }

    /// <summary>The parsers in use, deduplicated, in resolution order.</summary>
    public IReadOnlyList<RequestParsing> Active { get; }

    /// <summary>GIE v1.5.0: the one configured parser reads every request whatever its path.</summary>
    public static RequestParserSet Single(RequestParsing parsing) => new([], parsing, [parsing]);

    /// <summary>llm-d: the configured list, in order; what follows a fallback parser is skipped (and returned in <paramref name="skipped"/>).</summary>
    public static RequestParserSet Build(IReadOnlyList<RequestParsing> parsers, out IReadOnlyList<RequestParsing> skipped)
    {
        var entries = new List<(RequestParsing, byte[][])>();
        var active = new List<RequestParsing>();
        RequestParsing? fallback = null;
        var skippedList = new List<RequestParsing>();
        for (var i = 0; i < parsers.Count; i++)
        {
            var parsing = parsers[i];
            if (active.Contains(parsing))
            {
                skippedList.Add(parsing);
                continue;
            }

            active.Add(parsing);
            var claims = Claims(parsing);
            if (claims.Length == 0)
            {
                fallback = parsing;
                skippedList.AddRange(parsers.Skip(i + 1));
                break;
            }

            entries.Add((parsing, claims.Select(c => Encoding.ASCII.GetBytes(c.Trim('/'))).ToArray()));
        }

        skipped = skippedList;
        return new RequestParserSet([.. entries], fallback, active);
    }

    /// <summary>The path suffixes each parser claims (llm-d's <c>Claims().Paths</c>); none makes it the fallback.</summary>
    public static string[] Claims(RequestParsing parsing) => parsing switch
    {
        RequestParsing.OpenAI => ["chat/completions", "completions", "embeddings", "responses", "conversations", "chat/completions/render", "completions/render", "images/generations"],
        RequestParsing.Anthropic => ["messages", "messages/count_tokens"],
        RequestParsing.VllmHttp => ["inference/v1/generate"],
        RequestParsing.VllmGrpc => ["vllm.grpc.engine.VllmEngine/Generate", "vllm.grpc.engine.VllmEngine/Embed"],
        _ => [],
    };

    /// <summary>The parser for <paramref name="path"/>; false when no parser claims it and there is no fallback.</summary>
    public bool TryResolve(ReadOnlySpan<byte> path, out RequestParsing parsing)
    {
        var query = path.IndexOfAny((byte)'?', (byte)'#');
        if (query >= 0)
        {
            path = path[..query];
        }

        path = path.Trim((byte)' ').TrimEnd((byte)'/');
        foreach (var (candidate, suffixes) in _entries)
        {
            foreach (var suffix in suffixes)
            {
                if (path.EndsWith(suffix))
                {
                    parsing = candidate;
                    return true;
                }
            }
        }

        parsing = _fallback.GetValueOrDefault();
        return _fallback is not null;
    }
}
