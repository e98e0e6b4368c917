namespace Runtime.Primitives.Reloading;

/// <summary>What one read of a reloadable source produced: a good value, or every problem found.</summary>
internal readonly struct LoadResult<T>
    where T : class
{
    private readonly IReadOnlyList<string>? _errors;

    internal LoadResult(T? value, IReadOnlyList<string> errors, bool retry)
    {
        Value = value;
        _errors = errors;
        Retry = retry;
    }

    /// <summary>The validated value; null when the content was rejected.</summary>
    public T? Value { get; }

    /// <summary>Every problem found (with its file and line where the loader knows them); empty when valid.</summary>
    public IReadOnlyList<string> Errors => _errors ?? [];

    /// <summary>
    /// The content could not be read completely (a file vanished mid-rotation, a read failed): the
    /// next poll or change event tries again even if the fingerprint has not moved.
    /// </summary>
    public bool Retry { get; }

    public bool IsValid => Value is not null && Errors.Count == 0;
}

/// <summary>Builds <see cref="LoadResult{T}"/>s.</summary>
internal static class LoadResult
{
    public static LoadResult<T> Valid<T>(T value)
        where T : class => new(value ?? throw new ArgumentNullException(nameof(value)), [], retry: false);

    /// <summary>The content was read and is wrong: kept out until it changes.</summary>
    public static LoadResult<T> Invalid<T>(IReadOnlyList<string> errors)
        where T : class => new(null, NotEmpty(errors), retry: false);

    /// <summary>The content could not be read completely: tried again at the next chance.</summary>
    public static LoadResult<T> Unreadable<T>(IReadOnlyList<string> errors)
        where T : class => new(null, NotEmpty(errors), retry: true);

    private static IReadOnlyList<string> NotEmpty(IReadOnlyList<string> errors) =>
        errors is { Count: > 0 } ? errors : throw new ArgumentException("a rejected load names at least one problem", nameof(errors));
}

/// <summary>What <see cref="ReloadableSource{T}.Reload"/> did.</summary>
internal enum ReloadStatus
{
    /// <summary>The fingerprint had not moved: nothing was read.</summary>
    Skipped,

    /// <summary>Valid content was read and put into service, and it changed something.</summary>
    Applied,

    /// <summary>Valid content was read, and it equals what is served.</summary>
    Unchanged,

    /// <summary>The content was invalid or unreadable: the last good state stays.</summary>
    Rejected,
}

/// <summary>The result of one reload: what happened and, when rejected, why.</summary>
internal readonly record struct ReloadOutcome(ReloadStatus Status, IReadOnlyList<string> Errors)
{
    public static ReloadOutcome Skipped { get; } = new(ReloadStatus.Skipped, []);
}
