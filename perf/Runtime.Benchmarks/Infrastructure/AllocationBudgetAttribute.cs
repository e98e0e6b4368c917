namespace Runtime.Benchmarks.Infrastructure;

/// <summary>
/// Declares how many bytes a <c>[Benchmark]</c> method may allocate per operation. CI runs every
/// benchmark that carries this attribute in budget mode and fails when one allocates more
/// (see <see cref="AllocationBudgetRunner"/>). Hot-path benchmarks should use 0.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class AllocationBudgetAttribute(long bytesPerOperation) : Attribute
{
    public long BytesPerOperation { get; } = bytesPerOperation >= 0
        ? bytesPerOperation
        : throw new ArgumentOutOfRangeException(nameof(bytesPerOperation));
}
