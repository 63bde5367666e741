using OtelPower.Attribution;

namespace OtelPower.Agent.Exporters;

/// <summary>A local exporter that writes each snapshot as it is published (console view, JSON lines).</summary>
internal interface ISnapshotWriter
{
    string Name { get; }

    void Write(AttributionSnapshot snapshot);
}
