using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Kube;
using Runtime.ControlPlane.Kubernetes.Api;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Kubernetes;

/// <summary>
/// One kind's loop: paged LIST → <see cref="WorldCache.Replace(ResourceKind, IEnumerable{Resource})"/>,
/// then WATCH from the list's resourceVersion applying events one by one. A 410 Gone (the
/// server no longer holds our resourceVersion) re-lists, and the replace makes whole whatever
/// the watch missed; a clean close re-watches from the last resourceVersion seen (events and
/// bookmarks advance it); anything else is reported, backed off and retried.
/// </summary>
/// <remarks>
/// When several syncs feed one kind (objectives from GIE's and llm-d's groups), each replaces and
/// deletes only the keys it published itself. An optional kind whose CRD is not installed (404),
/// or any kind the Role does not grant (403), lists as empty and is looked for again every relist
/// interval.
/// </remarks>
internal sealed class KindSync(KubernetesSource source, KubernetesKindOptions kind)
{
    private readonly string _path = source.Options.CollectionPath(kind);
    private readonly bool _shared = source.Options.Kinds.Count(k => k.Kind == kind.Kind) > 1;
    private readonly HashSet<ResourceKey> _owned = [];
    private readonly string _defaultNamespace = string.IsNullOrEmpty(source.Options.Namespace) ? "default" : source.Options.Namespace;
    private readonly Backoff _backoff = new(source.Options.InitialBackoff, source.Options.MaxBackoff, source.Options.BackoffJitter);

    /// <summary>Where the next watch starts; null when the next step must list.</summary>
    private string? _resourceVersion;

    /// <summary>The last failure logged as a warning, until a list succeeds: its repeats are logged at Trace.</summary>
    private string? _lastFailure;

    private ILogger Logger => source.Logger;

    private WorldCache World => source.World;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (_resourceVersion is null)
                {
                    var installed = await ListAsync(cancellationToken).ConfigureAwait(false);
                    _backoff.Reset();
                    if (kind.Mode == KubernetesSyncMode.Relist || !installed)
                    {
                        await Task.Delay(kind.RelistInterval ?? source.Options.RelistInterval, source.Time, cancellationToken).ConfigureAwait(false);
                        _resourceVersion = null;
                        continue;
                    }
                }

                var started = source.Time.GetTimestamp();
                var (gone, events) = await WatchAsync(_resourceVersion!, cancellationToken).ConfigureAwait(false);
                if (gone)
                {
                    KubernetesLog.WatchGone(Logger, kind.Kind, _resourceVersion!);
                    _resourceVersion = null;
                    continue;
                }

                KubernetesLog.WatchClosed(Logger, kind.Kind, _resourceVersion!, events);
                if (events == 0 && source.Time.GetElapsedTime(started) < TimeSpan.FromSeconds(1))
                {
                    // A server that keeps closing empty watches at once must not spin us.
                    await Task.Delay(_backoff.Next(), source.Time, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    _backoff.Reset();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Any failure of one round (network, server, bad data) is retried; the loop must never die.
            catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
            {
                if (ex is KubernetesApiException { StatusCode: 410 })
                {
                    _resourceVersion = null;
                }

                var delay = _backoff.Next();
                var message = Describe(ex);
                var repeated = message == _lastFailure;
                _lastFailure = message;
                KubernetesLog.SyncFailed(Logger, repeated ? LogLevel.Trace : LogLevel.Warning, kind.Kind, delay, message);
                source.OnError(kind.Describe(), message);
                try
                {
                    await Task.Delay(delay, source.Time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Lists and replaces; false when the kind is optional and its CRD is not installed (then it is empty).</summary>
    private async Task<bool> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<Resource>();
        string? resourceVersion;
        string? next = null;
        var pages = 0;
        do
        {
            var query = Query(
                ("limit", source.Options.PageSize.ToString(CultureInfo.InvariantCulture)),
                ("continue", next),
                ("labelSelector", kind.LabelSelector),
                ("fieldSelector", kind.FieldSelector));
            JsonDocument page;
            try
            {
                page = await source.Client.GetJsonAsync(_path + query, cancellationToken).ConfigureAwait(false);
            }
            catch (KubernetesApiException ex) when (ex.StatusCode == 404 && kind.Optional)
            {
                Publish([]);
                KubernetesLog.NotInstalled(Logger, kind.Describe(), _path);
                source.OnListed(this);
                return false;
            }
            catch (KubernetesApiException ex) when (ex.StatusCode == 403)
            {
                // Not granted by the Role (the GIE chart grants no ConfigMaps): serve without it rather than never become ready.
                Publish([]);
                if (source.OnForbidden(kind.Kind))
                {
                    KubernetesLog.KindForbidden(Logger, kind.Describe(), Describe(ex));
                }

                source.OnListed(this);
                return false;
            }

            using var _ = page;
            pages++;
            var root = page.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("a list response is not a JSON object");
            }

            var metadata = root.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
            resourceVersion = Text(metadata, "resourceVersion");
            next = Text(metadata, "continue");
            if (root.TryGetProperty("items", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in list.EnumerateArray())
                {
                    if (Decode(item) is { } resource)
                    {
                        items.Add(resource);
                    }
                }
            }
        }
        while (!string.IsNullOrEmpty(next));

        if (string.IsNullOrEmpty(resourceVersion))
        {
            throw new InvalidDataException("a list response has no metadata.resourceVersion");
        }

        source.OnPermitted(kind.Kind);
        _lastFailure = null;
        Publish(items);
        _resourceVersion = resourceVersion;
        KubernetesLog.Listed(Logger, items.Count, kind.Kind, pages, resourceVersion);
        source.OnListed(this);
        return true;
    }

    /// <summary>A re-list: the whole kind, or (when several syncs share the kind) only what this one published.</summary>
    private void Publish(List<Resource> items)
    {
        if (!_shared)
        {
            World.Replace(kind.Kind, items);
            return;
        }

        World.ReplaceOwned(kind.Kind, _owned, items);
        _owned.Clear();
        _owned.UnionWith(items.Select(r => r.Key));
    }

    /// <summary>Applies one watch until it ends; returns whether it ended in 410 Gone, and how many events it carried.</summary>
    private async Task<(bool Gone, int Events)> WatchAsync(string from, CancellationToken cancellationToken)
    {
        KubernetesLog.Watching(Logger, kind.Kind, from);
        var timeout = source.Options.WatchTimeout;
        var query = Query(
            ("watch", "1"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", from),
            ("timeoutSeconds", ((long)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture)),
            ("labelSelector", kind.LabelSelector),
            ("fieldSelector", kind.FieldSelector));

        // The server ends the watch after timeoutSeconds; if it does not, the connection is dead.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout + TimeSpan.FromSeconds(30));
        using var response = await source.Client.GetStreamingAsync(_path + query, deadline.Token).ConfigureAwait(false);
        if ((int)response.StatusCode == 410)
        {
            return (true, 0);
        }

        await KubernetesApiClient.ThrowIfFailedAsync(response, deadline.Token).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            using var lines = new LineReader(body, source.Options.MaxEventBytes);
            var events = 0;
            while (true)
            {
                ReadOnlyMemory<byte>? line;
                try
                {
                    line = await lines.ReadLineAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return (false, events);
                }

                if (line is null)
                {
                    return (false, events);
                }

                if (IsBlank(line.Value.Span))
                {
                    continue;
                }

                events++;
                if (Apply(line.Value))
                {
                    return (true, events);
                }
            }
        }
    }

    /// <summary>Applies one watch event line; returns true when it says 410 Gone.</summary>
    private bool Apply(ReadOnlyMemory<byte> line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            // The stream is no longer trustworthy: fail this watch and resume from the last good resourceVersion.
            throw new InvalidDataException($"malformed watch event line: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            var type = root.ValueKind == JsonValueKind.Object ? Text(root, "type") : null;
            var obj = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("object", out var o) && o.ValueKind == JsonValueKind.Object ? o : default;
            if (type is null || obj.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("a watch event without type or object");
            }

            if (type == "ERROR")
            {
                var code = obj.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : 0;
                if (code == 410)
                {
                    return true;
                }

                throw new KubernetesApiException(code, $"watch ERROR event {code}: {Text(obj, "message")}");
            }

            var metadata = obj.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
            var resourceVersion = Text(metadata, "resourceVersion");
            var name = Text(metadata, "name") ?? string.Empty;
            var ns = Text(metadata, "namespace") ?? _defaultNamespace;
            switch (type)
            {
                case "ADDED":
                case "MODIFIED":
                    if (Decode(obj) is { } resource)
                    {
                        World.Upsert(resource);
                        _owned.Add(resource.Key);
                    }
                    else if (name.Length > 0)
                    {
                        // It no longer decodes: drop it, as a re-list would.
                        Remove(new ResourceKey(kind.Kind, ns, name));
                    }

                    break;
                case "DELETED":
                    if (name.Length > 0)
                    {
                        Remove(new ResourceKey(kind.Kind, ns, name));
                    }

                    break;
                case "BOOKMARK":
                    break;
                default:
                    throw new InvalidDataException($"unknown watch event type \"{type}\"");
            }

            if (Logger.IsEnabled(LogLevel.Debug))
            {
                KubernetesLog.Event(Logger, kind.Kind, type, ns, name, resourceVersion ?? string.Empty);
            }

            if (!string.IsNullOrEmpty(resourceVersion))
            {
                _resourceVersion = resourceVersion;
            }

            return false;
        }
    }

    /// <summary>Deletes a resource this sync published; another group's resource under the same key is left alone.</summary>
    private void Remove(ResourceKey key)
    {
        if (!_shared || _owned.Remove(key))
        {
            World.Delete(key);
        }
    }

    /// <summary>Decodes one object; null (logged) when it is malformed or not ours.</summary>
    private Resource? Decode(JsonElement item)
    {
        if (!ResourceDecoder.TryDecode(item, _defaultNamespace, out var resource, out var error, kind.Kind))
        {
            KubernetesLog.SkippedObject(Logger, kind.Kind, error ?? "undecodable");
            return null;
        }

        if (resource is null || resource.Kind != kind.Kind)
        {
            return null;
        }

        // List items carry no apiVersion; the pool's group is then the one we listed.
        if (resource is InferencePoolResource pool && Text(item, "apiVersion") is null)
        {
            return pool with { Group = source.Options.PoolGroup };
        }

        return resource;
    }

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \r\t"u8).IsEmpty;

    private static string Query(params ReadOnlySpan<(string Name, string? Value)> parameters)
    {
        var query = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            query.Append(query.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }

        return query.ToString();
    }

    private static string Describe(Exception ex) => ex switch
    {
        HttpRequestException { InnerException: { } inner } http => $"{http.Message} ({inner.Message})",
        _ => ex.Message,
    };
}
