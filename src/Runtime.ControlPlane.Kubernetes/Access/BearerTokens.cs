using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Primitives.Diagnostics;

namespace Runtime.ControlPlane.Kubernetes.Access;

/// <summary>
/// The bearer token of every request. A token file (a projected service account token) rotates
/// under us, so it is re-read once per <see cref="KubernetesAccess.TokenRefreshInterval"/> and
/// whenever the server answers 401 (<see cref="Invalidate"/>). A failed re-read keeps the last
/// token, and is logged and counted (<c>runtime_swallowed_errors_total{component="kubernetes"}</c>).
/// </summary>
internal sealed class BearerTokens(KubernetesAccess access, TimeProvider time, ILogger? logger = null)
{
    private readonly Lock _lock = new();
    private string? _token;
    private long _readAt;
    private bool _stale = true;

    /// <summary>True when a 401 might be cured by reading the token again.</summary>
    public bool CanRefresh => access.TokenFile is not null;

    public string? Current()
    {
        if (access.TokenFile is null)
        {
            return access.Token;
        }

        lock (_lock)
        {
            if (_stale || time.GetElapsedTime(_readAt) >= access.TokenRefreshInterval)
            {
                Read(access.TokenFile);
            }

            return _token;
        }
    }

    public void Invalidate()
    {
        lock (_lock)
        {
            _stale = true;
        }
    }

    private void Read(string path)
    {
        try
        {
            _token = File.ReadAllText(path).Trim();
            _stale = false;
            _readAt = time.GetTimestamp();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Mid-rotation the file can vanish for a moment: keep the last token and read again next time.
            if (_token is null)
            {
                throw new KubernetesConfigException($"cannot read token file {path}: {ex.Message}", ex);
            }

            SwallowedErrors.Report(logger ?? NullLogger.Instance, LogLevel.Warning, "kubernetes", "token_file",
                $"cannot re-read the token file {path}; keeping the last token", ex);
        }
    }
}
