using System.Text.Json;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;

namespace OtelPower.Agent.Exporters;

/// <summary>
/// One JSON object per interval, one line each. <c>energy_j</c> is cumulative since the agent started
/// (for processes: since first seen); <c>power_w</c> is the average over the last interval.
/// Only processes that used CPU in the interval are listed.
/// </summary>
internal sealed class JsonLinesWriter : ISnapshotWriter, IDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = false };

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly bool _includeCommandLine;
    private readonly Utf8JsonWriter _json;

    public JsonLinesWriter(Stream stream, bool ownsStream, bool includeCommandLine)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _includeCommandLine = includeCommandLine;
        _json = new Utf8JsonWriter(stream, WriterOptions);
    }

    public string Name => AgentOptions.JsonExporter;

    public void Write(AttributionSnapshot snapshot)
    {
        _json.Reset(_stream);
        WriteSnapshot(_json, snapshot, _includeCommandLine);
        _json.Flush();
        _stream.WriteByte((byte)'\n');
        _stream.Flush();
    }

    public void Dispose()
    {
        _json.Dispose();
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }

    internal static void WriteSnapshot(Utf8JsonWriter json, AttributionSnapshot snapshot, bool includeCommandLine)
    {
        json.WriteStartObject();
        json.WriteString("timestamp", snapshot.Timestamp.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteNumber("interval_s", snapshot.Interval.TotalSeconds);
        json.WriteString("source", snapshot.Source.ToName());
        WriteTally(json, "host", snapshot.Host);

        json.WriteStartArray("zones");
        foreach (var zone in snapshot.Zones)
        {
            json.WriteStartObject();
            json.WriteString("id", zone.Zone.Id);
            json.WriteString("name", zone.Zone.Name);
            if (zone.Zone.ParentId is { } parent)
            {
                json.WriteString("parent", parent);
            }
            else
            {
                json.WriteNull("parent");
            }

            json.WriteString("kind", KindName(zone.Zone.Kind));
            json.WriteBoolean("counts_toward_host", zone.Zone.CountsTowardHost);
            WriteEnergy(json, zone.Energy);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        WriteTally(json, "idle", snapshot.Idle);
        WritePlatform(json, snapshot);
        WriteGpus(json, snapshot);

        json.WriteStartArray("processes");
        foreach (var process in snapshot.Processes)
        {
            if (!process.WasActive)
            {
                continue;
            }

            json.WriteStartObject();
            json.WriteNumber("pid", process.Process.Pid);
            json.WriteNumber("start_ticks", process.Key.StartTicks);
            json.WriteString("comm", process.Process.Comm);
            json.WriteString("exe", process.Process.ExecutableName);
            if (includeCommandLine && process.Process.CommandLine is { } commandLine)
            {
                json.WriteString("cmdline", commandLine);
            }

            json.WriteNumber("cpu_s", (double)process.IntervalCpuTicks / snapshot.ClockTicksPerSecond);
            WriteWorkload(json, process.Process.Container, snapshot.MetadataOf(process.Process.Container));
            WriteConsumerEnergy(json, snapshot, process.Energy, process.Gpu, process.Platform);
            json.WriteEndObject();
        }

        json.WriteEndArray();

        // Containers and pods are measured from their cgroups, exited members included (README: containers).
        json.WriteStartArray("containers");
        foreach (var container in snapshot.Containers)
        {
            json.WriteStartObject();
            WriteWorkload(json, container.Container, container.Metadata);
            json.WriteString("runtime", container.Container.Runtime);
            json.WriteNumber("cpu_s", container.IntervalCpuMicroseconds / 1e6);
            WriteConsumerEnergy(json, snapshot, container.Energy, container.Gpu, container.Platform);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("pods");
        foreach (var pod in snapshot.Pods)
        {
            json.WriteStartObject();
            json.WriteString("k8s_pod_uid", pod.PodUid);
            WriteIfKnown(json, "k8s_pod_name", pod.PodName);
            WriteIfKnown(json, "k8s_namespace_name", pod.Namespace);
            WriteConsumerEnergy(json, snapshot, pod.Energy, pod.Gpu, pod.Platform);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        WriteVms(json, snapshot);
        json.WriteEndObject();
    }

    /// <summary>One object per VM, measured from its libvirt scope (or its qemu process when it has none).</summary>
    private static void WriteVms(Utf8JsonWriter json, AttributionSnapshot snapshot)
    {
        json.WriteStartArray("vms");
        foreach (var vm in snapshot.Vms)
        {
            var identity = (VmIdentity)vm.Workload;
            json.WriteStartObject();
            json.WriteString("name", identity.Name);
            WriteStringOrNull(json, "uuid", identity.Uuid);
            if (identity.Pid is { } pid)
            {
                json.WriteNumber("pid", pid);
            }
            else
            {
                json.WriteNull("pid");
            }

            WriteStringOrNull(json, "cgroup", identity.CgroupPath);
            json.WriteNumber("cpu_s", vm.IntervalCpuMicroseconds / 1e6);
            WriteConsumerEnergy(json, snapshot, vm.Energy, vm.Gpu, vm.Platform);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    /// <summary>One object per GPU pool: its energy, its idle part and how the energy is known.</summary>
    private static void WriteGpus(Utf8JsonWriter json, AttributionSnapshot snapshot)
    {
        json.WriteStartArray("gpus");
        foreach (var pool in snapshot.Pools)
        {
            if (!pool.IsGpu)
            {
                continue;
            }

            json.WriteStartObject();
            json.WriteString("uuid", pool.Device.Id);
            json.WriteNumber("index", pool.Device.Index);
            json.WriteString("name", pool.Device.Name);
            json.WriteString("vendor", pool.Device.Vendor);
            WriteIfKnown(json, "model", pool.Device.Model);
            json.WriteString("source", pool.Reading.Source == PoolEnergySource.Counter ? "counter" : "power");
            WriteEnergy(json, pool.Energy);
            json.WriteNumber("idle_energy_j", pool.Idle.Total.Joules);
            json.WriteNumber("idle_power_w", Math.Round(pool.Idle.Power.Watts, 6));
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>The whole-node meter, when the host has one: its energy and the part no measured pool explains.</summary>
    private static void WritePlatform(Utf8JsonWriter json, AttributionSnapshot snapshot)
    {
        if (snapshot.Platform is not { } platform)
        {
            return;
        }

        var other = snapshot.PlatformOther ?? default;
        json.WriteStartObject("platform");
        json.WriteString("source", platform.Device.Name);
        WriteEnergy(json, platform.Energy);
        json.WriteNumber("other_energy_j", other.Total.Joules);
        json.WriteNumber("other_power_w", Math.Round(other.Power.Watts, 6));
        if (snapshot.PlatformIdle is { } idle)
        {
            // --attribute-platform: the other energy no live process got (consumers carry platform_energy_j).
            json.WriteNumber("other_idle_energy_j", idle.Total.Joules);
            json.WriteNumber("other_idle_power_w", Math.Round(idle.Power.Watts, 6));
        }

        json.WriteEndObject();
    }

    /// <summary>
    /// A consumer's books: <c>energy_j</c>/<c>power_w</c> its CPU pool's, <c>gpu_*</c> its GPU pools' (0 on a host
    /// without GPUs), and <c>platform_*</c> its share of the node's other energy only when that is divided
    /// (<c>--attribute-platform</c>).
    /// </summary>
    private static void WriteConsumerEnergy(Utf8JsonWriter json, AttributionSnapshot snapshot, EnergyTally cpu, EnergyTally gpu, EnergyTally platform)
    {
        WriteEnergy(json, cpu);
        json.WriteNumber("gpu_energy_j", gpu.Total.Joules);
        json.WriteNumber("gpu_power_w", Math.Round(gpu.Power.Watts, 6));
        if (snapshot.AttributesPlatform)
        {
            json.WriteNumber("platform_energy_j", platform.Total.Joules);
            json.WriteNumber("platform_power_w", Math.Round(platform.Power.Watts, 6));
        }
    }

    /// <summary>The container and Kubernetes keys, each only when known.</summary>
    private static void WriteWorkload(Utf8JsonWriter json, ContainerIdentity? container, ContainerMetadata? metadata)
    {
        if (container is null)
        {
            return;
        }

        json.WriteString("container_id", container.ContainerId);
        WriteIfKnown(json, "k8s_pod_uid", container.PodUid);
        WriteIfKnown(json, "k8s_pod_name", metadata?.PodName);
        WriteIfKnown(json, "k8s_namespace_name", metadata?.Namespace);
        WriteIfKnown(json, "k8s_container_name", metadata?.ContainerName);
    }

    private static void WriteIfKnown(Utf8JsonWriter json, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteTally(Utf8JsonWriter json, string name, EnergyTally tally)
    {
        json.WriteStartObject(name);
        WriteEnergy(json, tally);
        json.WriteEndObject();
    }

    private static void WriteEnergy(Utf8JsonWriter json, EnergyTally tally)
    {
        json.WriteNumber("energy_j", tally.Total.Joules);
        json.WriteNumber("power_w", Math.Round(tally.Power.Watts, 6));
    }

    // Enum.ToString looks the names up through reflection metadata on every call, once per zone per sample.
    private static string KindName(EnergyZoneKind kind) => kind switch
    {
        EnergyZoneKind.Package => "package",
        EnergyZoneKind.Core => "core",
        EnergyZoneKind.Uncore => "uncore",
        EnergyZoneKind.Dram => "dram",
        EnergyZoneKind.Psys => "psys",
        EnergyZoneKind.Estimate => "estimate",
        EnergyZoneKind.Other => "other",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
