namespace OtelPower.Attribution;

/// <summary>
/// Hands each new snapshot from the sampling loop to its readers: exporters subscribe to
/// <see cref="Published"/>, metric callbacks read <see cref="Latest"/>. Snapshots are immutable,
/// so a reader on another thread never sees a half-written one.
/// </summary>
public sealed class AttributionFeed
{
    private AttributionSnapshot? _latest;

    /// <summary>Raised on the publishing (sampling) thread after <see cref="Latest"/> is updated.</summary>
    public event EventHandler<AttributionSnapshot>? Published;

    public AttributionSnapshot? Latest => Volatile.Read(ref _latest);

    public void Publish(AttributionSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Volatile.Write(ref _latest, snapshot);
        Published?.Invoke(this, snapshot);
    }
}
