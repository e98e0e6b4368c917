using System.Globalization;

namespace Runtime.ReplicaState;

/// <summary>
/// <c>--replica-state redis://HOST:PORT[/DB]</c> (or <c>rediss://</c> for TLS) and its companions. The
/// password never comes from the URL or argv (a process list would show it): from
/// <see cref="PasswordEnvironmentVariable"/> or <c>--replica-state-password-file</c>.
/// </summary>
internal sealed record ReplicaStateOptions
{
    public const string PasswordEnvironmentVariable = "RUNTIME_REPLICA_STATE_PASSWORD";

    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(20);

    public static readonly TimeSpan DefaultLoadTtl = TimeSpan.FromSeconds(3);

    public static readonly TimeSpan DefaultHistory = TimeSpan.FromMinutes(10);

    public required string Host { get; init; }

    public int Port { get; init; } = 6379;

    public int Database { get; init; }

    public bool Tls { get; init; }

    /// <summary>The ACL user (<c>redis://user@host</c>); null for the default user.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>How often local changes are published (the batch interval); the others' are read when they notify, and at every batch as a fallback.</summary>
    public TimeSpan Interval { get; init; } = DefaultInterval;

    /// <summary>A replica's reported in-flight load is dropped when not refreshed for this long (a dead replica's load does not linger).</summary>
    public TimeSpan LoadTtl { get; init; } = DefaultLoadTtl;

    /// <summary>How long prefix-index updates stay in the shared stream for replicas that start or reconnect later.</summary>
    public TimeSpan History { get; init; } = DefaultHistory;

    /// <summary>The pool these replicas serve: the key namespace (<c>runtime:{pool}:state</c>).</summary>
    public string Pool { get; init; } = "static";

    /// <summary>The Redis stream every replica of <see cref="Pool"/> appends to and reads.</summary>
    public string StreamKey => "runtime:{" + Pool + "}:state";

    /// <summary>The Pub/Sub channel on which a replica says it appended to <see cref="StreamKey"/> (the message: its id).</summary>
    public string NotifyChannel => StreamKey + ":notify";

    /// <summary>Where to connect, for logs (no credentials).</summary>
    public string Display => $"{(Tls ? "rediss" : "redis")}://{Host}:{Port.ToString(CultureInfo.InvariantCulture)}/{Database.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Parses <paramref name="url"/>; adds every problem to <paramref name="errors"/> (prefixed with the
    /// flag name) and returns null when there is one.
    /// </summary>
    public static ReplicaStateOptions? TryParse(string url, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        const string Flag = "--replica-state";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss"))
        {
            errors.Add($"{Flag}: \"{url}\" is not a redis://HOST:PORT[/DB] or rediss://HOST:PORT[/DB] URL");
            return null;
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            errors.Add($"{Flag}: \"{url}\" has no host");
            return null;
        }

        string? user = null;
        if (uri.UserInfo.Length > 0)
        {
            if (uri.UserInfo.Contains(':', StringComparison.Ordinal))
            {
                errors.Add($"{Flag}: do not put the password in the URL (it would show in the process list); set ${PasswordEnvironmentVariable} or --replica-state-password-file");
                return null;
            }

            user = Uri.UnescapeDataString(uri.UserInfo);
        }

        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database) || database > 15_999))
        {
            errors.Add($"{Flag}: the path of \"{url}\" must be a database number (e.g. redis://host:6379/0), got \"/{path}\"");
            return null;
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            errors.Add($"{Flag}: \"{url}\" has a query or fragment; only redis[s]://[USER@]HOST:PORT[/DB] is understood");
            return null;
        }

        return new ReplicaStateOptions
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port,
            Database = database,
            Tls = uri.Scheme == "rediss",
            User = user,
        };
    }

    /// <summary>
    /// The password: the file's content (trailing newline dropped) when <paramref name="passwordFile"/> is
    /// given, else <see cref="PasswordEnvironmentVariable"/>, else none.
    /// </summary>
    public static bool TryReadPassword(string? passwordFile, List<string> errors, out string? password)
    {
        ArgumentNullException.ThrowIfNull(errors);
        password = null;
        if (!string.IsNullOrEmpty(passwordFile))
        {
            try
            {
                password = File.ReadAllText(passwordFile).TrimEnd('\r', '\n');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                errors.Add($"--replica-state-password-file: cannot read \"{passwordFile}\": {ex.Message}");
                return false;
            }

            if (password.Length == 0)
            {
                errors.Add($"--replica-state-password-file: \"{passwordFile}\" is empty");
                return false;
            }

            return true;
        }

        password = Environment.GetEnvironmentVariable(PasswordEnvironmentVariable) is { Length: > 0 } fromEnv ? fromEnv : null;
        return true;
    }
}
