using Runtime.FlowControl.Registry;
using Runtime.Plugins.Saturation;

namespace Runtime.FlowControl;

/// <summary>Live reconfiguration: a reload of the <c>flowControl</c> section applied to a running controller.</summary>
internal sealed partial class FlowController
{
    /// <summary>The control plane's last desired set (<see cref="SetDesiredPriorities"/>); null until it first speaks. Under <see cref="_tableLock"/>.</summary>
    private HashSet<int>? _desired;

    /// <summary>
    /// Applies new options (and, when given, a new saturation detector for the dispatch gate) to the
    /// running controller, the way the control plane changes bands: nothing queued is dropped.
    /// </summary>
    /// <remarks>
    /// <para>A band the new options list keeps its queued requests and takes the new limits and
    /// policies: limits bind the next admission (a limit shrunk below what is queued only refuses new
    /// requests until the band is back under it), policies bind the next dispatch decision (each
    /// shard's part re-orders its queued items lazily, see <see cref="ShardBand.SyncPolicies"/>).</para>
    /// <para>A static band the options no longer list becomes a dynamic one with the default band's
    /// settings. If the control plane's desired set (InferenceObjective priorities) still names it,
    /// it stays; otherwise it drains like a deleted objective's band: new requests for it are
    /// demoted (or provisioned again later, just in time), what it holds dispatches or expires, and
    /// it is removed once empty. Listed bands that did not exist appear; a listed band that was
    /// draining is reactivated. Dynamic bands take the new default band's settings.</para>
    /// <para>Global limits, the default TTL (for requests admitted afterwards), the usage limit
    /// policy, the unprovisioned-priority policy and the idle timeout swap with the settings
    /// reference; a changed shard count goes through <see cref="SetShardCount"/>. Producers and
    /// dispatchers never wait on this: the table is published as any band change is, and every
    /// shard runs a cycle afterwards so a gate that opened is noticed.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The options are invalid (nothing changes).</exception>
    /// <exception cref="ObjectDisposedException">The controller was disposed.</exception>
    public BandChanges Reconfigure(FlowControlOptions options, ISaturationDetector? detector = null)
    {
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid flow control options: " + string.Join("; ", errors), nameof(options));
        }

        var added = new List<int>();
        var reactivated = new List<int>();
        var draining = new List<int>();
        var removed = new List<int>();
        lock (_tableLock)
        {
            ObjectDisposedException.ThrowIf(_shutdown, this);
            Volatile.Write(ref _settings, Settings.Of(options, Time));
            if (detector is not null)
            {
                Volatile.Write(ref _detector, detector);
            }

            var listed = new Dictionary<int, PriorityBandOptions>();
            foreach (PriorityBandOptions band in options.PriorityBands)
            {
                listed.Add(band.Priority, band);
            }

            BandTable table = _table;
            foreach (PriorityBand band in table.Bands)
            {
                int priority = band.Priority;
                if (listed.TryGetValue(priority, out PriorityBandOptions? bandOptions))
                {
                    band.Reconfigure(bandOptions, priority == 0 ? PriorityBandKind.Zero : PriorityBandKind.Static);
                    if (band.IsDraining)
                    {
                        band.Reactivate();
                        reactivated.Add(priority);
                    }
                }
                else if (priority == 0)
                {
                    band.Reconfigure(options.DefaultPriorityBand, PriorityBandKind.Zero);
                }
                else
                {
                    bool leftConfig = band.Kind == PriorityBandKind.Static;
                    band.Reconfigure(options.DefaultPriorityBand, PriorityBandKind.Dynamic);
                    if (leftConfig && !band.IsDraining && _desired?.Contains(priority) != true)
                    {
                        band.MarkDraining();
                        draining.Add(priority);
                    }
                }
            }

            foreach (PriorityBandOptions bandOptions in options.PriorityBands)
            {
                if (!table.TryGet(bandOptions.Priority, out _))
                {
                    table = table.With(NewBand(bandOptions, bandOptions.Priority == 0 ? PriorityBandKind.Zero : PriorityBandKind.Static, table.Slots));
                    added.Add(bandOptions.Priority);
                }
            }

            Volatile.Write(ref _table, WithoutDrainedBands(table, removed));
        }

        if (options.ShardCount != ShardCount)
        {
            SetShardCount(options.ShardCount);
        }

        // New policies, limits or a new gate: let every shard look at its queues again.
        NotifyCapacityChanged();
        return new BandChanges(added, reactivated, draining, removed);
    }
}
