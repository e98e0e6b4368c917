using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Runtime.TestSupport.Kubernetes;

/// <summary>
/// <c>coordination.k8s.io/v1</c> Leases as leader election uses them: GET one, POST to create
/// (409 AlreadyExists when taken), PUT to update (409 Conflict unless <c>metadata.resourceVersion</c>
/// is the stored one, 404 when missing), each write stamping the next global resourceVersion. The
/// Role check (<see cref="AllowedResources"/>), injected failures and <see cref="LeasesUnavailable"/>
/// (an API outage for leases only) apply.
/// </summary>
public sealed partial class FakeKubeApiServer
{
    private const string LeasesPrefix = "/apis/coordination.k8s.io/v1/namespaces/";

    private readonly Dictionary<string, JsonObject> _leases = new(StringComparer.Ordinal);
    private int _leaseWrites;
    private int _leaseConflicts;
    private volatile bool _leasesUnavailable;

    /// <summary>While true, every lease request gets 503 (the API server is unreachable for leader election).</summary>
    public bool LeasesUnavailable
    {
        get => _leasesUnavailable;
        set => _leasesUnavailable = value;
    }

    /// <summary>Successful lease creates and updates.</summary>
    public int LeaseWrites => Volatile.Read(ref _leaseWrites);

    /// <summary>Lease writes refused with 409 (stale resourceVersion, or created already).</summary>
    public int LeaseConflicts => Volatile.Read(ref _leaseConflicts);

    /// <summary>A copy of the stored Lease, or null.</summary>
    public JsonObject? GetLease(string @namespace, string name)
    {
        lock (_lock)
        {
            return _leases.TryGetValue(Key(@namespace, name), out var lease) ? lease.DeepClone().AsObject() : null;
        }
    }

    /// <summary><c>spec.holderIdentity</c> of the stored Lease ("" when released, null when there is none).</summary>
    public string? LeaseHolder(string @namespace, string name) =>
        GetLease(@namespace, name)?["spec"]?["holderIdentity"]?.GetValue<string>() ?? (GetLease(@namespace, name) is null ? null : string.Empty);

    /// <summary>Stores a Lease as another writer would (e.g. a holder that is not a replica under test).</summary>
    public void PutLease(string @namespace, string name, string holder, int leaseDurationSeconds, DateTimeOffset renewTime)
    {
        lock (_lock)
        {
            var rv = ++_resourceVersion;
            _leases[Key(@namespace, name)] = new JsonObject
            {
                ["apiVersion"] = "coordination.k8s.io/v1",
                ["kind"] = "Lease",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = @namespace, ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) },
                ["spec"] = new JsonObject
                {
                    ["holderIdentity"] = holder,
                    ["leaseDurationSeconds"] = leaseDurationSeconds,
                    ["renewTime"] = renewTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
                    ["leaseTransitions"] = 0,
                },
            };
        }
    }

    private async Task<bool> TryHandleLeaseAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        if (!path.StartsWith(LeasesPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        // namespaces/{ns}/leases[/{name}]
        var parts = path[LeasesPrefix.Length..].Split('/');
        if (parts.Length is < 2 or > 3 || parts[1] != "leases")
        {
            await WriteStatusAsync(context, 404, "NotFound", "the server could not find the requested resource").ConfigureAwait(false);
            return true;
        }

        if (LeasesUnavailable)
        {
            await WriteStatusAsync(context, 503, "ServiceUnavailable", "the lease storage is unavailable").ConfigureAwait(false);
            return true;
        }

        if (AllowedResources is { } allowed && !allowed.Contains("leases"))
        {
            await WriteStatusAsync(context, 403, "Forbidden", $"leases.coordination.k8s.io is forbidden: User \"system:serviceaccount:{parts[0]}:epp\" cannot {context.Request.Method.ToLowerInvariant()} resource \"leases\"").ConfigureAwait(false);
            return true;
        }

        var ns = Uri.UnescapeDataString(parts[0]);
        var name = parts.Length == 3 ? Uri.UnescapeDataString(parts[2]) : null;
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) && name is not null)
        {
            var lease = GetLease(ns, name);
            if (lease is null)
            {
                await WriteStatusAsync(context, 404, "NotFound", $"leases.coordination.k8s.io \"{name}\" not found").ConfigureAwait(false);
                return true;
            }

            await WriteObjectAsync(context, 200, lease).ConfigureAwait(false);
            return true;
        }

        if (!(HttpMethods.IsPost(method) && name is null) && !(HttpMethods.IsPut(method) && name is not null))
        {
            await WriteStatusAsync(context, 405, "MethodNotAllowed", $"{method} is not supported on {path}").ConfigureAwait(false);
            return true;
        }

        var body = await JsonNode.ParseAsync(context.Request.Body).ConfigureAwait(false) as JsonObject;
        var metadata = body?["metadata"] as JsonObject;
        var bodyName = metadata?["name"]?.GetValue<string>();
        if (body is null || metadata is null || string.IsNullOrEmpty(bodyName) || (name is not null && bodyName != name))
        {
            await WriteStatusAsync(context, 400, "BadRequest", "the lease needs metadata.name matching the path").ConfigureAwait(false);
            return true;
        }

        int code;
        string reason, message;
        lock (_lock)
        {
            var key = Key(ns, bodyName);
            var exists = _leases.TryGetValue(key, out var stored);
            if (name is null && exists)
            {
                (code, reason, message) = (409, "AlreadyExists", $"leases.coordination.k8s.io \"{bodyName}\" already exists");
            }
            else if (name is not null && !exists)
            {
                (code, reason, message) = (404, "NotFound", $"leases.coordination.k8s.io \"{bodyName}\" not found");
            }
            else if (name is not null && metadata["resourceVersion"]?.GetValue<string>() != stored!["metadata"]!["resourceVersion"]!.GetValue<string>())
            {
                (code, reason, message) = (409, "Conflict", $"Operation cannot be fulfilled on leases.coordination.k8s.io \"{bodyName}\": the object has been modified; please apply your changes to the latest version and try again");
            }
            else
            {
                var rv = ++_resourceVersion;
                metadata["namespace"] = ns;
                metadata["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
                _leases[key] = body.DeepClone().AsObject();
                _leaseWrites++;
                (code, reason, message) = (name is null ? 201 : 200, string.Empty, string.Empty);
            }

            if (code == 409)
            {
                _leaseConflicts++;
            }
        }

        if (code is 200 or 201)
        {
            await WriteObjectAsync(context, code, body).ConfigureAwait(false);
        }
        else
        {
            await WriteStatusAsync(context, code, reason, message).ConfigureAwait(false);
        }

        return true;
    }

    private static async Task WriteObjectAsync(HttpContext context, int code, JsonObject obj)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(obj.ToJsonString()).ConfigureAwait(false);
    }
}
