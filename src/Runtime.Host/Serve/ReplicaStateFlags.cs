using Runtime.Host.Cli;
using Runtime.ReplicaState;

namespace Runtime.Host.Serve;

/// <summary>
/// <c>--replica-state</c> and its companions (ours; the Go picker has no active-active mode): bound
/// before parsing, resolved into <see cref="ReplicaStateOptions"/> after it.
/// </summary>
internal sealed class ReplicaStateFlags
{
    private string _url = string.Empty;
    private string _passwordFile = string.Empty;
    private TimeSpan _interval = ReplicaStateOptions.DefaultInterval;
    private TimeSpan _ttl = ReplicaStateOptions.DefaultLoadTtl;
    private TimeSpan _history = ReplicaStateOptions.DefaultHistory;

    public static ReplicaStateFlags Bind(FlagSet flags)
    {
        var bound = new ReplicaStateFlags();
        flags.String("replica-state", string.Empty, "Active-active replicas: share the prefix index and in-flight load with the pool's other replicas through Redis at redis://HOST:PORT[/DB] (rediss:// for TLS). Password: $" + ReplicaStateOptions.PasswordEnvironmentVariable + " or --replica-state-password-file, never the URL", v => bound._url = v);
        flags.String("replica-state-password-file", string.Empty, "File holding the Redis password for --replica-state (overrides $" + ReplicaStateOptions.PasswordEnvironmentVariable + ")", v => bound._passwordFile = v);
        flags.Duration("replica-state-interval", bound._interval, "How often local routing state is published to Redis and the other replicas' is read (the batch interval)", v => bound._interval = v);
        flags.Duration("replica-state-ttl", bound._ttl, "Another replica's in-flight load stops counting when it has not refreshed it for this long", v => bound._ttl = v);
        flags.Duration("replica-state-history", bound._history, "How long prefix-index updates stay in Redis for replicas that start or reconnect later", v => bound._history = v);
        return bound;
    }

    /// <summary>The options, null when <c>--replica-state</c> is not given or a value is wrong (then with the errors).</summary>
    public ReplicaStateOptions? Resolve(ServeOptions options, FlagSet flags, List<string> errors)
    {
        if (_url.Length == 0)
        {
            foreach (var companion in (string[])["replica-state-password-file", "replica-state-interval", "replica-state-ttl", "replica-state-history"])
            {
                if (flags.IsSet(companion))
                {
                    errors.Add($"--{companion} needs --replica-state");
                }
            }

            return null;
        }

        if (options.LeaderElection)
        {
            errors.Add("--replica-state and --ha-enable-leader-election are alternatives (active-active or active-passive): use one");
            return null;
        }

        var count = errors.Count;
        if (_interval <= TimeSpan.Zero || _interval > TimeSpan.FromSeconds(1))
        {
            errors.Add($"--replica-state-interval must be in (0, 1s], got {_interval}");
        }

        if (_ttl <= _interval)
        {
            errors.Add($"--replica-state-ttl ({_ttl}) must be longer than --replica-state-interval ({_interval})");
        }

        if (_history <= TimeSpan.Zero)
        {
            errors.Add("--replica-state-history must be positive");
        }

        var parsed = ReplicaStateOptions.TryParse(_url, errors);
        if (!ReplicaStateOptions.TryReadPassword(_passwordFile, errors, out var password) || parsed is null || errors.Count > count)
        {
            return null;
        }

        // Keys are namespaced by pool, so replicas of different pools can share one Redis.
        var pool = string.IsNullOrEmpty(options.PoolName) ? "static"
            : $"{(string.IsNullOrEmpty(options.PoolNamespace) ? Environment.GetEnvironmentVariable("NAMESPACE") is { Length: > 0 } ns ? ns : "default" : options.PoolNamespace)}/{options.PoolName}";
        return parsed with { Password = password, Interval = _interval, LoadTtl = _ttl, History = _history, Pool = pool };
    }
}
