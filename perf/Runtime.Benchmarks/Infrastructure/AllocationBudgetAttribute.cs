namespace Runtime.Benchmarks.Infrastructure;

/// <summary>
/// Declares how many bytes a <c>[Benchmark]</c> method may allocate per operation, and names the
/// method that proves the operation did its work. CI runs every benchmark that carries this
/// attribute through <see cref="AllocationBudgetRunner"/> and fails when one allocates more, or
/// when its outcome check says the operation failed (a fast failure must not pass as 0 B).
/// Hot-path benchmarks should use 0.
/// </summary>
/// <remarks>
/// <see cref="Outcome"/> names a method (instance or static) of the benchmark class returning <c>bool</c>:
/// <c>bool Check(T result)</c> for a benchmark returning <c>T</c>, <c>bool Check()</c> for a
/// <c>void</c> one. It is called outside the measured loop.
/// </remarks>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class AllocationBudgetAttribute(long bytesPerOperation) : Attribute
{
    public long BytesPerOperation { get; } = bytesPerOperation >= 0
        ? bytesPerOperation
        : throw new ArgumentOutOfRangeException(nameof(bytesPerOperation));

    /// <summary>Name of the outcome check (required: the gate refuses a benchmark without one).</summary>
    public string? Outcome { get; init; }
}
