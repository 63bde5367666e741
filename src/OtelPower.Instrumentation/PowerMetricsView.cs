using System.Diagnostics.Metrics;
using OtelPower.Attribution;

namespace OtelPower.Instrumentation;

/// <summary>Every measurement the instruments report for one snapshot. Immutable once built.</summary>
internal sealed class PowerMetricsView
{
    public static readonly PowerMetricsView Empty = new();

    public Measurement<double>[] ZoneEnergy { get; private init; } = [];

    public Measurement<double>[] ZonePower { get; private init; } = [];

    public Measurement<double>[] HostEnergy { get; private init; } = [];

    public Measurement<double>[] HostPower { get; private init; } = [];

    public Measurement<double>[] ProcessEnergy { get; private init; } = [];

    public Measurement<double>[] ProcessPower { get; private init; } = [];

    public Measurement<double>[] IdleEnergy { get; private init; } = [];

    public Measurement<double>[] IdlePower { get; private init; } = [];

    public Measurement<double>[] ContainerEnergy { get; private init; } = [];

    public Measurement<double>[] ContainerPower { get; private init; } = [];

    public Measurement<double>[] PodEnergy { get; private init; } = [];

    public Measurement<double>[] PodPower { get; private init; } = [];

    public static PowerMetricsView Build(
        AttributionSnapshot snapshot,
        ProcessSeriesPlanner processPlanner,
        WorkloadSeriesPlanner containerPlanner,
        WorkloadSeriesPlanner podPlanner,
        PowerInstrumentationOptions options)
    {
        var source = new KeyValuePair<string, object?>(SemanticConventions.Source, snapshot.Source.ToName());
        var seconds = snapshot.Interval.TotalSeconds;
        double Watts(long microjoules) => seconds > 0 ? microjoules / 1e6 / seconds : 0;

        var zoneEnergy = new List<Measurement<double>>();
        var zonePower = new List<Measurement<double>>();
        foreach (var zone in snapshot.Zones)
        {
            if (zone.Zone.Kind == EnergyZoneKind.Estimate)
            {
                continue; // not hardware: the estimate is hw.host.* with otelpower.source=estimate
            }

            var tags = ZoneTags(zone.Zone);
            zoneEnergy.Add(new(zone.Energy.Total.Joules, tags));
            zonePower.Add(new(zone.Energy.Power.Watts, tags));
        }

        var processEnergy = new List<Measurement<double>>();
        var processPower = new List<Measurement<double>>();
        foreach (var series in processPlanner.Update(snapshot))
        {
            var tags = series.Process is { } process ? ProcessTags(process, snapshot, source, options) : [new(SemanticConventions.ProcessExecutableName, series.ExecutableAggregate), source];
            processEnergy.Add(new(series.TotalMicrojoules / 1e6, tags));
            processPower.Add(new(Watts(series.IntervalMicrojoules), tags));
        }

        var containerEnergy = new List<Measurement<double>>();
        var containerPower = new List<Measurement<double>>();
        var containerTags = snapshot.Containers.ToDictionary(c => c.Container.ContainerId, c => ContainerTags(c, source), StringComparer.Ordinal);
        var (containers, foldedContainers) = containerPlanner.Update(snapshot.Containers.Select(c =>
            (c.Container.ContainerId, c.Metadata?.Namespace, AttributeKey(containerTags[c.Container.ContainerId]), c.Energy.Total.Microjoules, c.Energy.Interval.Microjoules)));
        foreach (var (id, total, interval) in containers)
        {
            var tags = containerTags[id];
            containerEnergy.Add(new(total / 1e6, tags));
            containerPower.Add(new(Watts(interval), tags));
        }

        foreach (var (ns, total, interval) in foldedContainers)
        {
            KeyValuePair<string, object?>[] tags = [new(SemanticConventions.ContainerId, SemanticConventions.Other), new(SemanticConventions.NamespaceName, ns), source];
            containerEnergy.Add(new(total / 1e6, tags));
            containerPower.Add(new(Watts(interval), tags));
        }

        var podEnergy = new List<Measurement<double>>();
        var podPower = new List<Measurement<double>>();
        var podsByUid = snapshot.Pods.ToDictionary(p => p.PodUid, StringComparer.Ordinal);
        KeyValuePair<string, object?>[] PodTags(string uid) =>
        [
            new(SemanticConventions.PodUid, uid),
            new(SemanticConventions.PodName, podsByUid[uid].PodName ?? string.Empty),
            new(SemanticConventions.NamespaceName, podsByUid[uid].Namespace ?? string.Empty),
            source,
        ];
        var (pods, foldedPods) = podPlanner.Update(snapshot.Pods.Select(p => (p.PodUid, p.Namespace, AttributeKey(PodTags(p.PodUid)), p.Energy.Total.Microjoules, p.Energy.Interval.Microjoules)));
        foreach (var (uid, total, interval) in pods)
        {
            var tags = PodTags(uid);
            podEnergy.Add(new(total / 1e6, tags));
            podPower.Add(new(Watts(interval), tags));
        }

        foreach (var (ns, total, interval) in foldedPods)
        {
            KeyValuePair<string, object?>[] tags = [new(SemanticConventions.PodName, SemanticConventions.Other), new(SemanticConventions.NamespaceName, ns), source];
            podEnergy.Add(new(total / 1e6, tags));
            podPower.Add(new(Watts(interval), tags));
        }

        KeyValuePair<string, object?>[] sourceOnly = [source];
        return new PowerMetricsView
        {
            ZoneEnergy = [.. zoneEnergy],
            ZonePower = [.. zonePower],
            HostEnergy = [new(snapshot.Host.Total.Joules, sourceOnly)],
            HostPower = [new(snapshot.Host.Power.Watts, sourceOnly)],
            ProcessEnergy = [.. processEnergy],
            ProcessPower = [.. processPower],
            IdleEnergy = [new(snapshot.Idle.Total.Joules, sourceOnly)],
            IdlePower = [new(snapshot.Idle.Power.Watts, sourceOnly)],
            ContainerEnergy = [.. containerEnergy],
            ContainerPower = [.. containerPower],
            PodEnergy = [.. podEnergy],
            PodPower = [.. podPower],
        };
    }

    /// <summary>What the SDK keys a series by: the attributes, keys and values (order does not matter to it).</summary>
    internal static string AttributeKey(KeyValuePair<string, object?>[] tags) =>
        string.Join('\u001f', tags.Select(t => t.Key + "=" + Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal));

    internal static string HardwareType(EnergyZoneKind kind) => kind == EnergyZoneKind.Dram ? "memory" : "cpu";

    private static KeyValuePair<string, object?>[] ZoneTags(EnergyZone zone)
    {
        var tags = new List<KeyValuePair<string, object?>>(4)
        {
            new(SemanticConventions.HwId, zone.Id),
            new(SemanticConventions.HwName, zone.Name),
            new(SemanticConventions.HwType, HardwareType(zone.Kind)),
        };
        if (zone.ParentId is { } parent)
        {
            tags.Add(new(SemanticConventions.HwParent, parent));
        }

        return [.. tags];
    }

    private static KeyValuePair<string, object?>[] ProcessTags(ProcessIdentity process, AttributionSnapshot snapshot, KeyValuePair<string, object?> source, PowerInstrumentationOptions options)
    {
        var tags = new List<KeyValuePair<string, object?>>(9)
        {
            new(SemanticConventions.ProcessPid, (long)process.Pid),
            new(SemanticConventions.ProcessExecutableName, process.ExecutableName),
            source,
        };
        if (options.IncludeCommandLine && process.CommandLine is { } commandLine)
        {
            tags.Add(new(SemanticConventions.ProcessCommandLine, commandLine));
        }

        AddWorkloadTags(tags, process.Container, snapshot.MetadataOf(process.Container));
        return [.. tags];
    }

    private static KeyValuePair<string, object?>[] ContainerTags(ContainerEnergy container, KeyValuePair<string, object?> source)
    {
        var tags = new List<KeyValuePair<string, object?>>(7) { source };
        AddWorkloadTags(tags, container.Container, container.Metadata);
        return [.. tags];
    }

    private static void AddWorkloadTags(List<KeyValuePair<string, object?>> tags, ContainerIdentity? container, ContainerMetadata? metadata)
    {
        if (container is null)
        {
            return;
        }

        tags.Add(new(SemanticConventions.ContainerId, container.ContainerId));
        if (container.PodUid is { } uid)
        {
            tags.Add(new(SemanticConventions.PodUid, uid));
        }

        if (metadata is not null)
        {
            AddIfKnown(tags, SemanticConventions.PodName, metadata.PodName);
            AddIfKnown(tags, SemanticConventions.NamespaceName, metadata.Namespace);
            AddIfKnown(tags, SemanticConventions.ContainerName, metadata.ContainerName);
            foreach (var (key, value) in metadata.Labels)
            {
                tags.Add(new(key, value));
            }
        }
    }

    private static void AddIfKnown(List<KeyValuePair<string, object?>> tags, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            tags.Add(new(key, value));
        }
    }
}
