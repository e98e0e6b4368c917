using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Reconcile;

/// <summary>Everything one reconcile round knows: both worlds, their difference and both topologies.</summary>
internal sealed record ReconcileRound(long Number, WorldSnapshot Previous, WorldSnapshot Current, IReadOnlyList<ResourceEvent> Events, Topology PreviousTopology, Topology Topology)
{
    public bool IsFirst => Number == 1;

    public bool Touches(IReadOnlySet<ResourceKind> kinds) => Events.Any(e => kinds.Contains(e.Kind));
}

/// <summary>
/// A reconcile function that runs only when the round has an event of one of its kinds (every
/// kind when <paramref name="Kinds"/> is empty), on the first round, and again after it threw.
/// It returns a problem with the world to report (bad content: not retried) or null.
/// </summary>
internal sealed record Subscription(string Name, IReadOnlySet<ResourceKind> Kinds, Func<ReconcileRound, string?> Task)
{
    public static Subscription On(string name, Func<ReconcileRound, string?> task, params ResourceKind[] kinds) =>
        new(name, kinds.ToHashSet(), task);

    public static Subscription On(string name, Action<ReconcileRound> task, params ResourceKind[] kinds) =>
        new(name, kinds.ToHashSet(), round =>
        {
            task(round);
            return null;
        });

    public bool Matches(ReconcileRound round) => round.IsFirst || Kinds.Count == 0 || round.Touches(Kinds);
}

/// <summary>What a workflow run did.</summary>
internal sealed record WorkflowResult(IReadOnlyList<string> Ran, IReadOnlyList<string> Failed, string? Skipped, IReadOnlyList<string> Errors);

/// <summary>
/// The reconcile functions of a round, as a workflow: a precondition (a reason to skip the round),
/// the subscribed tasks in order, a postcondition (a problem with the result), and an error handler
/// that sees every exception. A failing task does not stop the others.
/// </summary>
internal sealed class ReconcileWorkflow
{
    public Func<ReconcileRound, string?>? Precondition { get; init; }

    public IReadOnlyList<Subscription> Tasks { get; init; } = [];

    public Func<ReconcileRound, string?>? Postcondition { get; init; }

    public Action<ReconcileRound, string, Exception>? ErrorHandler { get; init; }

    /// <summary>Runs the round; <paramref name="retry"/> names tasks that failed before and run regardless of events.</summary>
    public WorkflowResult Run(ReconcileRound round, IReadOnlySet<string> retry)
    {
        var errors = new List<string>();
        if (Precondition?.Invoke(round) is { } skip)
        {
            return new WorkflowResult([], [], skip, errors);
        }

        var ran = new List<string>();
        var failed = new List<string>();
        foreach (var task in Tasks)
        {
            if (!task.Matches(round) && !retry.Contains(task.Name))
            {
                continue;
            }

            ran.Add(task.Name);
            try
            {
                if (task.Task(round) is { } taskProblem)
                {
                    errors.Add($"{task.Name}: {taskProblem}");
                }
            }
#pragma warning disable CA1031 // A reconcile function's failure must not stop the loop; it is reported and retried.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failed.Add(task.Name);
                errors.Add($"{task.Name}: {ex.Message}");
                ErrorHandler?.Invoke(round, task.Name, ex);
            }
        }

        if (Postcondition?.Invoke(round) is { } problem)
        {
            errors.Add(problem);
        }

        return new WorkflowResult(ran, failed, null, errors);
    }
}
