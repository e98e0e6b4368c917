using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Runtime.TestSupport.Kubernetes;

/// <summary>
/// An in-process Kubernetes API server speaking the real list/watch protocol over HTTP/1.1 on
/// 127.0.0.1: objects per resource type under one global, monotonically increasing
/// resourceVersion; paged LIST (<c>limit</c>/<c>continue</c>, served from a snapshot like the
/// real server); WATCH (<c>watch=1</c>) streaming chunked NDJSON events from a resourceVersion out
/// of a retained history, with 410 Gone (HTTP status or ERROR event) for versions older than the
/// history; bookmarks on demand; and hooks to break things (drop or close watches, compact,
/// fail requests, inject bad lines, require a bearer token); and TokenReview/SubjectAccessReview
/// creation (see the Reviews part), and Leases for leader election (see the Leases part).
/// </summary>
public sealed partial class FakeKubeApiServer : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _objects = new(StringComparer.Ordinal);
    private readonly List<HistoryEvent> _history = [];
    private readonly List<Watcher> _watchers = [];
    private readonly Dictionary<string, ListSnapshot> _continuations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _lists = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _watches = new(StringComparer.Ordinal);
    private WebApplication? _app;
    private long _resourceVersion = 100;
    private long _compactedThrough;
    private int _failures;
    private int _failureStatus = 500;
    private int _requests;
    private int _unauthorized;
    private string? _requiredToken;

    private FakeKubeApiServer()
    {
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>When set, every request must carry <c>Authorization: Bearer {token}</c> or gets 401.</summary>
    public string? RequiredToken
    {
        get => Volatile.Read(ref _requiredToken);
        set => Volatile.Write(ref _requiredToken, value);
    }

    /// <summary>
    /// When set, the only resources (plurals, e.g. <c>pods</c>) the caller may list and watch, as a
    /// Role grants them; any other gets 403 Forbidden like the real server's authorizer.
    /// </summary>
    public IReadOnlySet<string>? AllowedResources { get; set; }

    /// <summary>How an expired watch resourceVersion is refused: an ERROR event with a 410 Status (true) or HTTP 410 (false).</summary>
    public bool GoneAsErrorEvent { get; set; }

    /// <summary>The newest resourceVersion.</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _resourceVersion;
            }
        }
    }

    /// <summary>Every request received, including refused ones.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests refused with 401.</summary>
    public int UnauthorizedRequests => Volatile.Read(ref _unauthorized);

    public int OpenWatches
    {
        get
        {
            lock (_lock)
            {
                return _watchers.Count;
            }
        }
    }

    /// <summary>Starts on a free loopback port; over TLS when <paramref name="certificate"/> (with its key) is given.</summary>
    public static async Task<FakeKubeApiServer> StartAsync(X509Certificate2? certificate = null)
    {
        var server = new FakeKubeApiServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
            options.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            }));
        var app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server._app = app;
        server.Url = new Uri(address);
        return server;
    }

    /// <summary>Served LIST pages of one resource (plural, e.g. <c>pods</c>; null counts all).</summary>
    public int ListRequests(string? plural = null) => Count(_lists, plural);

    /// <summary>Served WATCH requests of one resource (plural; null counts all).</summary>
    public int WatchRequests(string? plural = null) => Count(_watches, plural);

    /// <summary>Creates or updates an object (with apiVersion, kind, metadata.name); returns its new resourceVersion.</summary>
    public long Apply(string json) => Apply(JsonNode.Parse(json)!.AsObject());

    /// <summary>Creates or updates an object; returns its new resourceVersion.</summary>
    public long Apply(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var copy = obj.DeepClone().AsObject();
        var type = TypeOf(copy);
        var metadata = copy["metadata"] as JsonObject ?? throw new ArgumentException("object without metadata");
        var name = metadata["name"]?.GetValue<string>() ?? throw new ArgumentException("object without metadata.name");
        var ns = metadata["namespace"]?.GetValue<string>() ?? "default";
        metadata["namespace"] = ns;
        lock (_lock)
        {
            var rv = ++_resourceVersion;
            metadata["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            var ofType = ObjectsOf(type);
            var existed = ofType.TryGetValue(Key(ns, name), out var previous);
            ofType[Key(ns, name)] = copy;
            Publish(new HistoryEvent(rv, type, existed ? "MODIFIED" : "ADDED", ns, copy.DeepClone().AsObject()) { Previous = previous });
            return rv;
        }
    }

    /// <summary>Deletes an object; returns the deletion's resourceVersion, or null when it did not exist.</summary>
    public long? Delete(string apiVersion, string kind, string @namespace, string name)
    {
        var type = TypeOf(apiVersion, kind);
        lock (_lock)
        {
            var ofType = ObjectsOf(type);
            if (!ofType.Remove(Key(@namespace, name), out var old))
            {
                return null;
            }

            var rv = ++_resourceVersion;
            old["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            Publish(new HistoryEvent(rv, type, "DELETED", @namespace, old));
            return rv;
        }
    }

    /// <summary>Sends a BOOKMARK at the current resourceVersion to every open watch that allowed bookmarks.</summary>
    public void SendBookmarks()
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers.Where(w => w.Bookmarks))
            {
                var bookmark = new JsonObject
                {
                    ["kind"] = KindOf(watcher.Type),
                    ["apiVersion"] = ApiVersionOf(watcher.Type),
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
                };
                watcher.Lines.Writer.TryWrite(Line("BOOKMARK", bookmark));
            }
        }
    }

    /// <summary>Forgets the event history: a watch from any resourceVersion handed out so far gets 410 Gone.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _history.Clear();
            _compactedThrough = ++_resourceVersion;
        }
    }

    /// <summary>Aborts every open watch connection mid-stream (no chunked terminator).</summary>
    public void DropWatches()
    {
        foreach (var watcher in TakeWatchers())
        {
            watcher.Context.Abort();
        }
    }

    /// <summary>Ends every open watch cleanly, as the server does when timeoutSeconds passes.</summary>
    public void CloseWatches()
    {
        foreach (var watcher in TakeWatchers())
        {
            watcher.Lines.Writer.TryComplete();
        }
    }

    /// <summary>Writes a raw line (malformed JSON, an odd event) to every open watch.</summary>
    public void InjectWatchLine(string line)
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Lines.Writer.TryWrite(line);
            }
        }
    }

    private readonly HashSet<string> _unservedGroups = [];

    /// <summary>Answers 404 for every path of <paramref name="group"/>, as a cluster without that CRD does.</summary>
    public void StopServing(string group)
    {
        lock (_lock)
        {
            _unservedGroups.Add(group);
        }
    }

    /// <summary>The next <paramref name="count"/> requests fail with <paramref name="status"/> and a Status body.</summary>
    public void FailNextRequests(int count, int status = 500)
    {
        lock (_lock)
        {
            _failures = count;
            _failureStatus = status;
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> watches are open.</summary>
    public async Task WaitForWatchesAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (OpenWatches < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{OpenWatches} watches open, expected {count}");
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        CloseWatches();
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var token = RequiredToken;
        if (token is not null && context.Request.Headers.Authorization.ToString() != $"Bearer {token}")
        {
            Interlocked.Increment(ref _unauthorized);
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized").ConfigureAwait(false);
            return;
        }

        var status = 0;
        lock (_lock)
        {
            if (_failures > 0)
            {
                _failures--;
                status = _failureStatus;
            }
        }

        if (status != 0)
        {
            await WriteStatusAsync(context, status, "InternalError", "injected failure").ConfigureAwait(false);
            return;
        }

        if (await TryHandleLeaseAsync(context).ConfigureAwait(false))
        {
            return;
        }

        if (HttpMethods.IsPost(context.Request.Method) && await TryHandleReviewAsync(context).ConfigureAwait(false))
        {
            return;
        }

        bool unserved;
        lock (_lock)
        {
            unserved = _unservedGroups.Any(g => (context.Request.Path.Value ?? string.Empty).StartsWith($"/apis/{g}/", StringComparison.Ordinal));
        }

        if (unserved || !HttpMethods.IsGet(context.Request.Method) || !TryParsePath(context.Request.Path.Value ?? string.Empty, out var type, out var ns))
        {
            await WriteStatusAsync(context, 404, "NotFound", "the server could not find the requested resource").ConfigureAwait(false);
            return;
        }

        if (AllowedResources is { } allowed && !allowed.Contains(Plural(type)))
        {
            await WriteStatusAsync(context, 403, "Forbidden", $"{Plural(type)} is forbidden: User \"system:serviceaccount:default:epp\" cannot list resource \"{Plural(type)}\"").ConfigureAwait(false);
            return;
        }

        var query = context.Request.Query;
        var selector = LabelSelector.Parse(query["labelSelector"].ToString());
        if (query["watch"] is var watch && (watch == "1" || watch == "true"))
        {
            await WatchAsync(context, type, ns, selector).ConfigureAwait(false);
        }
        else
        {
            await ListAsync(context, type, ns, selector).ConfigureAwait(false);
        }
    }

    private async Task ListAsync(HttpContext context, string type, string? ns, LabelSelector selector)
    {
        var query = context.Request.Query;
        var limit = int.TryParse(query["limit"], out var l) && l > 0 ? l : int.MaxValue;
        var continueToken = query["continue"].ToString();
        ListSnapshot snapshot;
        int offset;
        lock (_lock)
        {
            Increment(_lists, Plural(type));
            if (continueToken.Length > 0)
            {
                var parts = continueToken.Split(':');
                if (parts.Length != 2 || !_continuations.TryGetValue(parts[0], out snapshot!) || !int.TryParse(parts[1], out offset))
                {
                    snapshot = null!;
                    offset = -1;
                }
            }
            else
            {
                var items = ObjectsOf(type).Values
                    .Where(o => ns is null || o["metadata"]!["namespace"]!.GetValue<string>() == ns)
                    .Where(selector.Matches)
                    .Select(ListItem)
                    .ToArray();
                snapshot = new ListSnapshot(_resourceVersion, items);
                offset = 0;
            }
        }

        if (offset < 0)
        {
            await WriteStatusAsync(context, 410, "Expired", "the provided continue parameter is too old").ConfigureAwait(false);
            return;
        }

        var page = snapshot.Items.Skip(offset).Take(limit).ToArray();
        string? next = null;
        if (offset + page.Length < snapshot.Items.Length)
        {
            var id = Guid.NewGuid().ToString("N");
            lock (_lock)
            {
                _continuations[id] = snapshot;
            }

            next = $"{id}:{offset + page.Length}";
        }

        var metadata = new JsonObject { ["resourceVersion"] = snapshot.ResourceVersion.ToString(CultureInfo.InvariantCulture) };
        if (next is not null)
        {
            metadata["continue"] = next;
        }

        var list = new JsonObject
        {
            ["kind"] = KindOf(type) + "List",
            ["apiVersion"] = ApiVersionOf(type),
            ["metadata"] = metadata,
            ["items"] = new JsonArray(page.Select(i => (JsonNode)i.DeepClone()).ToArray()),
        };
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(list.ToJsonString()).ConfigureAwait(false);
    }

    private async Task WatchAsync(HttpContext context, string type, string? ns, LabelSelector selector)
    {
        var query = context.Request.Query;
        var fromText = query["resourceVersion"].ToString();
        var bookmarks = query["allowWatchBookmarks"] == "true";
        var timeout = int.TryParse(query["timeoutSeconds"], out var seconds) && seconds > 0 ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(30);
        var watcher = new Watcher(context, type, ns, selector, bookmarks);
        var gone = false;
        lock (_lock)
        {
            Increment(_watches, Plural(type));
            long from = fromText is "" or "0" ? _resourceVersion : long.Parse(fromText, CultureInfo.InvariantCulture);
            if (from < _compactedThrough)
            {
                gone = true;
            }
            else
            {
                foreach (var past in _history.Where(e => e.ResourceVersion > from))
                {
                    if (watcher.EventType(past) is { } eventType)
                    {
                        watcher.Lines.Writer.TryWrite(Line(eventType, past.Object));
                    }
                }

                _watchers.Add(watcher);
            }
        }

        if (gone)
        {
            if (!GoneAsErrorEvent)
            {
                await WriteStatusAsync(context, 410, "Expired", $"too old resource version: {fromText}").ConfigureAwait(false);
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(Line("ERROR", Status(410, "Expired", $"too old resource version: {fromText}")) + "\n").ConfigureAwait(false);
            return;
        }

        try
        {
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync().ConfigureAwait(false);
            await context.Response.Body.FlushAsync().ConfigureAwait(false);
            using var expiry = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            expiry.CancelAfter(timeout);
            try
            {
                await foreach (var line in watcher.Lines.Reader.ReadAllAsync(expiry.Token).ConfigureAwait(false))
                {
                    await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), expiry.Token).ConfigureAwait(false);
                    await context.Response.Body.FlushAsync(expiry.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // timeoutSeconds passed (a clean end) or the client went away.
            }
        }
        finally
        {
            lock (_lock)
            {
                _watchers.Remove(watcher);
            }
        }
    }

    private void Publish(HistoryEvent e)
    {
        _history.Add(e);
        foreach (var watcher in _watchers)
        {
            if (watcher.EventType(e) is { } eventType)
            {
                watcher.Lines.Writer.TryWrite(Line(eventType, e.Object));
            }
        }
    }

    private List<Watcher> TakeWatchers()
    {
        lock (_lock)
        {
            var all = _watchers.ToList();
            _watchers.Clear();
            return all;
        }
    }

    private SortedDictionary<string, JsonObject> ObjectsOf(string type)
    {
        if (!_objects.TryGetValue(type, out var ofType))
        {
            ofType = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
            _objects[type] = ofType;
        }

        return ofType;
    }

    private int Count(Dictionary<string, int> counts, string? plural)
    {
        lock (_lock)
        {
            return plural is null ? counts.Values.Sum() : counts.GetValueOrDefault(plural);
        }
    }

    private static void Increment(Dictionary<string, int> counts, string plural) => counts[plural] = counts.GetValueOrDefault(plural) + 1;

    /// <summary>List items carry no kind or apiVersion, as the real server sends them.</summary>
    private static JsonObject ListItem(JsonObject obj)
    {
        var item = obj.DeepClone().AsObject();
        item.Remove("kind");
        item.Remove("apiVersion");
        return item;
    }

    private static string Line(string type, JsonObject obj) => new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString();

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static async Task WriteStatusAsync(HttpContext context, int code, string reason, string message)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(Status(code, reason, message).ToJsonString()).ConfigureAwait(false);
    }

    private static string Key(string ns, string name) => ns + "/" + name;

    /// <summary><c>api/v1/pods</c>, <c>apis/{group}/{version}/inferencepools</c>.</summary>
    private static string TypeOf(JsonObject obj) =>
        TypeOf(obj["apiVersion"]?.GetValue<string>() ?? throw new ArgumentException("object without apiVersion"),
            obj["kind"]?.GetValue<string>() ?? throw new ArgumentException("object without kind"));

    private static string TypeOf(string apiVersion, string kind) =>
        (apiVersion.Contains('/', StringComparison.Ordinal) ? $"apis/{apiVersion}" : $"api/{apiVersion}") + "/" + kind.ToLowerInvariant() + "s";

    private static string Plural(string type) => type[(type.LastIndexOf('/') + 1)..];

    private static string ApiVersionOf(string type)
    {
        var parts = type.Split('/');
        return parts[0] == "api" ? parts[1] : $"{parts[1]}/{parts[2]}";
    }

    private static string KindOf(string type)
    {
        var plural = Plural(type);
        return plural switch
        {
            "pods" => "Pod",
            "configmaps" => "ConfigMap",
            "inferencepools" => "InferencePool",
            "inferenceobjectives" => "InferenceObjective",
            "inferencemodelrewrites" => "InferenceModelRewrite",
            _ => plural[..^1],
        };
    }

    private static bool TryParsePath(string path, out string type, out string? ns)
    {
        type = string.Empty;
        ns = null;
        var segments = path.Trim('/').Split('/');
        int rest;
        string prefix;
        if (segments.Length >= 3 && segments[0] == "api")
        {
            prefix = $"api/{segments[1]}";
            rest = 2;
        }
        else if (segments.Length >= 4 && segments[0] == "apis")
        {
            prefix = $"apis/{segments[1]}/{segments[2]}";
            rest = 3;
        }
        else
        {
            return false;
        }

        if (segments.Length == rest + 3 && segments[rest] == "namespaces")
        {
            ns = Uri.UnescapeDataString(segments[rest + 1]);
            type = $"{prefix}/{segments[rest + 2]}";
            return true;
        }

        if (segments.Length == rest + 1)
        {
            type = $"{prefix}/{segments[rest]}";
            return true;
        }

        return false;
    }

    private sealed record HistoryEvent(long ResourceVersion, string ResourceType, string Type, string Namespace, JsonObject Object)
    {
        /// <summary>For MODIFIED: the object before the change (to see it enter or leave a label selector).</summary>
        public JsonObject? Previous { get; init; }
    }

    private sealed record ListSnapshot(long ResourceVersion, JsonObject[] Items);

    private sealed class Watcher(HttpContext context, string type, string? ns, LabelSelector selector, bool bookmarks)
    {
        public HttpContext Context { get; } = context;

        public string Type { get; } = type;

        public bool Bookmarks { get; } = bookmarks;

        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

        /// <summary>
        /// The event this watch sees, or null: as the real server does, a change that makes an object
        /// match the label selector arrives as ADDED and one that makes it stop matching as DELETED.
        /// </summary>
        public string? EventType(HistoryEvent e)
        {
            if (e.ResourceType != Type || (ns is not null && e.Namespace != ns))
            {
                return null;
            }

            var matches = selector.Matches(e.Object);
            if (e.Type != "MODIFIED")
            {
                return matches ? e.Type : null;
            }

            var matched = e.Previous is { } previous && selector.Matches(previous);
            return (matched, matches) switch
            {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                _ => null,
            };
        }
    }

    /// <summary>Equality label selectors: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, comma-separated.</summary>
    private sealed class LabelSelector
    {
        private readonly List<(string Key, string Value, bool Equal)> _terms = [];

        public static LabelSelector Parse(string text)
        {
            var selector = new LabelSelector();
            foreach (var term in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var notEqual = term.IndexOf("!=", StringComparison.Ordinal);
                if (notEqual > 0)
                {
                    selector._terms.Add((term[..notEqual], term[(notEqual + 2)..], false));
                    continue;
                }

                var parts = term.Split('=', StringSplitOptions.RemoveEmptyEntries);
                selector._terms.Add((parts[0], parts.Length > 1 ? parts[^1] : string.Empty, true));
            }

            return selector;
        }

        public bool Matches(JsonObject obj)
        {
            var labels = obj["metadata"]?["labels"] as JsonObject;
            foreach (var (key, value, equal) in _terms)
            {
                var actual = labels?[key]?.GetValue<string>();
                if ((actual == value) != equal)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
