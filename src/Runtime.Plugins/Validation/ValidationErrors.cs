namespace Runtime.Plugins.Validation;

/// <summary>
/// Collects every problem instead of stopping at the first, so an operator fixes a file in one
/// pass (YARP's ConfigValidator does the same).
/// </summary>
/// <remarks>
/// A value that is structurally wrong (a list where a map belongs, an unknown field) is marked
/// invalid; later semantic checks that land on or under that path are dropped, because they would
/// only restate the same mistake ("type is required" for a plugin entry that was not a map at all).
/// </remarks>
public sealed class ValidationErrors
{
    private readonly List<ValidationError> _errors = [];
    private readonly List<ValidationError> _warnings = [];
    private readonly List<string> _invalidPaths = [];

    public IReadOnlyList<ValidationError> Errors => _errors;

    /// <summary>Things that load but deserve the operator's attention (ignored settings, legacy fields).</summary>
    public IReadOnlyList<ValidationError> Warnings => _warnings;

    public int Count => _errors.Count;

    public bool HasErrors => _errors.Count > 0;

    /// <summary>Records a problem unless it lies under a path already reported as structurally invalid.</summary>
    public void Report(string path, string message)
    {
        if (!IsUnderInvalidPath(path))
        {
            _errors.Add(new ValidationError(path, message));
        }
    }

    /// <summary>Records a structural problem and suppresses follow-up reports at or under <paramref name="path"/>.</summary>
    public void ReportInvalid(string path, string message)
    {
        Report(path, message);
        _invalidPaths.Add(path);
    }

    public void Warn(string path, string message) => _warnings.Add(new ValidationError(path, message));

    public bool IsUnderInvalidPath(string path)
    {
        foreach (var invalid in _invalidPaths)
        {
            if (FieldPath.IsAtOrUnder(path, invalid))
            {
                return true;
            }
        }

        return false;
    }
}
