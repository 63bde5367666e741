using System.Globalization;
using System.Text;
using OtelPower.Attribution;

namespace OtelPower.Agent.Exporters;

/// <summary>
/// A live view like <c>top</c>: source, host watts, zones, idle, and the top processes by watts.
/// On a terminal it redraws in place; into a pipe or file it prints one block per interval.
/// </summary>
internal sealed class ConsoleViewWriter : ISnapshotWriter
{
    private const string ClearScreen = "\u001b[H\u001b[2J";

    private readonly TextWriter _output;
    private readonly bool _redraw;
    private readonly int _top;
    private readonly StringBuilder _text = new();

    public ConsoleViewWriter(TextWriter output, bool redraw, int top)
    {
        _output = output;
        _redraw = redraw;
        _top = top;
    }

    public string Name => AgentOptions.ConsoleExporter;

    public void Write(AttributionSnapshot snapshot)
    {
        _text.Clear();
        if (_redraw)
        {
            _text.Append(ClearScreen);
        }

        Render(_text, snapshot, _top);
        _output.Write(_text.ToString());
        _output.Flush();
    }

    internal static void Render(StringBuilder text, AttributionSnapshot snapshot, int top)
    {
        var culture = CultureInfo.InvariantCulture;
        var source = snapshot.Source switch
        {
            EnergySource.Estimate => "ESTIMATE (no readable RAPL: modelled from CPU utilisation, not measured)",
            EnergySource.Hypervisor => "hypervisor (this VM's share, measured on its host)",
            EnergySource.Hwmon => "hwmon (measured: CPU power channels, no RAPL)",
            _ => "rapl (measured)",
        };
        text.Append(culture, $"OtelPower  {snapshot.Timestamp.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z  interval {snapshot.Interval.TotalSeconds:0.00} s  source: {source}\n");
        if (snapshot.Platform is { } platform)
        {
            // The node split: what the platform meter sees, as CPU + GPUs + the rest of the node.
            var gpuWatts = snapshot.Pools.Where(p => p.IsGpu).Sum(p => p.Energy.Power.Watts);
            var other = snapshot.PlatformOther ?? default;
            text.Append(culture, $"Node  {platform.Energy.Power.Watts,9:0.00} W  {platform.Energy.Total.Joules,12:0.0} J  ({platform.Device.Name}): CPU {snapshot.Host.Power.Watts:0.00} W, GPU {gpuWatts:0.00} W, other {other.Power.Watts:0.00} W\n");
        }

        text.Append(culture, $"Host  {snapshot.Host.Power.Watts,9:0.00} W  {snapshot.Host.Total.Joules,12:0.0} J\n");
        text.Append(culture, $"Idle  {snapshot.Idle.Power.Watts,9:0.00} W  {snapshot.Idle.Total.Joules,12:0.0} J\n");
        foreach (var zone in snapshot.Zones)
        {
            var note = zone.Zone.CountsTowardHost ? string.Empty : zone.Zone.ParentId is { } parent ? $"  (inside {parent})" : "  (not added to host)";
            text.Append(culture, $"  {zone.Zone.Name,-14} {zone.Zone.Id,-16} {zone.Energy.Power.Watts,9:0.00} W  {zone.Energy.Total.Joules,12:0.0} J{note}\n");
        }

        var gpus = snapshot.HasGpus;
        if (gpus)
        {
            text.Append(culture, $"GPUs  {snapshot.Pools.Where(p => p.IsGpu).Sum(p => p.Energy.Power.Watts),9:0.00} W  idle {snapshot.GpuIdle.Power.Watts,9:0.00} W\n");
            foreach (var gpu in snapshot.Pools.Where(p => p.IsGpu))
            {
                var energySource = gpu.Reading.Source == Attribution.Pools.PoolEnergySource.Counter ? "counter" : "power";
                text.Append(culture, $"  {gpu.Device.Name,-14} {Printable(gpu.Device.Model ?? gpu.Device.Id, 24),-24} {gpu.Energy.Power.Watts,9:0.00} W  idle {gpu.Idle.Power.Watts,9:0.00} W  {gpu.Energy.Total.Joules,12:0.0} J  ({energySource})\n");
            }
        }

        var gpuHeader = gpus ? $" {"GPU W",9}" : string.Empty;
        text.Append('\n');
        text.Append(culture, $"{"PID",8}  {"NAME",-20} {"POWER W",9} {"CPU %",7} {"ENERGY J",12}{gpuHeader}\n");
        var cpuTicksInInterval = snapshot.Interval.TotalSeconds * snapshot.ClockTicksPerSecond;
        foreach (var process in TopByPower(snapshot.Processes, top))
        {
            var cpuPercent = cpuTicksInInterval > 0 ? 100.0 * process.IntervalCpuTicks / cpuTicksInInterval : 0;
            var gpuColumn = gpus ? string.Format(culture, " {0,9:0.00}", process.Gpu.Power.Watts) : string.Empty;
            text.Append(culture, $"{process.Process.Pid,8}  {Printable(process.Process.ExecutableName, 20),-20} {process.Energy.Power.Watts,9:0.00} {cpuPercent,7:0.0} {process.Energy.Total.Joules,12:0.000}{gpuColumn}\n");
        }

        if (!snapshot.Pods.IsEmpty || !snapshot.Containers.IsEmpty)
        {
            text.Append('\n');
            text.Append(culture, $"{"NAMESPACE/POD (or CONTAINER)",-44} {"POWER W",9} {"ENERGY J",12}{gpuHeader}\n");
            foreach (var pod in snapshot.Pods.OrderByDescending(p => p.Energy.Interval.Microjoules + p.Gpu.Interval.Microjoules).Take(top))
            {
                var name = $"{pod.Namespace ?? "?"}/{pod.PodName ?? pod.PodUid}";
                var gpuColumn = gpus ? string.Format(culture, " {0,9:0.00}", pod.Gpu.Power.Watts) : string.Empty;
                text.Append(culture, $"{Printable(name, 44),-44} {pod.Energy.Power.Watts,9:0.00} {pod.Energy.Total.Joules,12:0.000}{gpuColumn}\n");
            }

            foreach (var container in snapshot.Containers.Where(c => c.Container.PodUid is null).OrderByDescending(c => c.Energy.Interval.Microjoules + c.Gpu.Interval.Microjoules).Take(top))
            {
                var name = $"{container.Container.Runtime}:{container.Container.ContainerId[..Math.Min(12, container.Container.ContainerId.Length)]}";
                var gpuColumn = gpus ? string.Format(culture, " {0,9:0.00}", container.Gpu.Power.Watts) : string.Empty;
                text.Append(culture, $"{name,-44} {container.Energy.Power.Watts,9:0.00} {container.Energy.Total.Joules,12:0.000}{gpuColumn}\n");
            }
        }

        if (!snapshot.Vms.IsEmpty)
        {
            text.Append('\n');
            text.Append(culture, $"{"VM",-44} {"POWER W",9} {"ENERGY J",12}{gpuHeader}\n");
            foreach (var vm in snapshot.Vms.OrderByDescending(v => v.Energy.Interval.Microjoules + v.Gpu.Interval.Microjoules).Take(top))
            {
                var identity = (Attribution.VmIdentity)vm.Workload;
                var name = identity.Pid is { } pid ? string.Format(culture, "{0} (pid {1})", identity.Name, pid) : identity.Name;
                var gpuColumn = gpus ? string.Format(culture, " {0,9:0.00}", vm.Gpu.Power.Watts) : string.Empty;
                text.Append(culture, $"{Printable(name, 44),-44} {vm.Energy.Power.Watts,9:0.00} {vm.Energy.Total.Joules,12:0.000}{gpuColumn}\n");
            }
        }

        text.Append('\n');
    }

    private static IEnumerable<ProcessEnergy> TopByPower(IReadOnlyCollection<ProcessEnergy> processes, int top) =>
        processes.Where(p => p.WasActive)
            .OrderByDescending(p => p.Energy.Interval.Microjoules + p.Gpu.Interval.Microjoules)
            .ThenByDescending(p => p.Energy.Total.Microjoules + p.Gpu.Total.Microjoules)
            .Take(top);

    /// <summary>A comm can hold newlines and escape sequences; the view must not be redrawn by a process name.</summary>
    internal static string Printable(string name, int width)
    {
        var builder = new StringBuilder(Math.Min(name.Length, width));
        foreach (var c in name)
        {
            if (builder.Length == width)
            {
                break;
            }

            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }
}
