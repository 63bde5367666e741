namespace OtelPower.Instrumentation;

/// <summary>Instrument names and attribute keys: OpenTelemetry's where a convention exists, <c>otelpower.</c> where none does.</summary>
public static class SemanticConventions
{
    public const string MeterName = "OtelPower";

    /// <summary>
    /// The semantic-conventions schema the Meter declares. 1.37.0 is the first release whose registry holds every
    /// convention named here (hw.gpu.* and the hw.vendor / hw.model attributes entered it then); none was renamed since.
    /// </summary>
    public const string SchemaUrl = "https://opentelemetry.io/schemas/1.37.0";

    public const string HwEnergy = "hw.energy";
    public const string HwPower = "hw.power";
    public const string HwHostEnergy = "hw.host.energy";
    public const string HwHostPower = "hw.host.power";
    public const string ProcessEnergy = "otelpower.process.energy";
    public const string ProcessPower = "otelpower.process.power";
    public const string IdleEnergy = "otelpower.idle.energy";
    public const string IdlePower = "otelpower.idle.power";
    public const string ContainerEnergy = "otelpower.container.energy";
    public const string ContainerPower = "otelpower.container.power";
    public const string PodEnergy = "otelpower.pod.energy";
    public const string PodPower = "otelpower.pod.power";
    public const string VmEnergy = "otelpower.vm.energy";
    public const string VmPower = "otelpower.vm.power";
    public const string HwGpuUtilization = "hw.gpu.utilization";
    public const string HwGpuMemoryUsage = "hw.gpu.memory.usage";
    public const string HwGpuMemoryLimit = "hw.gpu.memory.limit";
    public const string PlatformOtherEnergy = "otelpower.platform.other.energy";
    public const string PlatformOtherPower = "otelpower.platform.other.power";

    public const string HwId = "hw.id";
    public const string HwName = "hw.name";
    public const string HwType = "hw.type";
    public const string HwParent = "hw.parent";
    public const string HwVendor = "hw.vendor";
    public const string HwModel = "hw.model";

    /// <summary>The <c>hw.type</c> of consumer series: which pool the joules come from.</summary>
    public const string CpuPool = "cpu";

    /// <summary>The <c>hw.type</c> of consumer series that carry GPU joules, and of GPU devices.</summary>
    public const string GpuPool = "gpu";

    /// <summary>The <c>hw.type</c> of the whole-node meter (ACPI power meter, Redfish).</summary>
    public const string PlatformPool = "platform";
    public const string Source = "otelpower.source";
    public const string ProcessPid = "process.pid";
    public const string ProcessExecutableName = "process.executable.name";
    public const string ProcessCommandLine = "process.command_line";
    public const string ContainerId = "container.id";
    public const string PodUid = "k8s.pod.uid";
    public const string PodName = "k8s.pod.name";
    public const string NamespaceName = "k8s.namespace.name";
    public const string ContainerName = "k8s.container.name";

    /// <summary>The guest's name (qemu <c>-name guest=</c>, else the libvirt machine name); no semantic convention names VMs on a hypervisor yet.</summary>
    public const string VmName = "otelpower.vm.name";

    /// <summary>The guest's UUID (qemu <c>-uuid</c>); empty when qemu was started without one.</summary>
    public const string VmUuid = "otelpower.vm.uuid";

    /// <summary>The executable name of the one series that holds all kernel threads not promoted (kworker/1:0H-kblockd...).</summary>
    public const string KernelThreads = "[kernel]";

    /// <summary>The value of a folded series' identifying attribute.</summary>
    public const string Other = "other";

    public static readonly IReadOnlyList<string> InstrumentNames =
    [
        HwEnergy, HwPower, HwHostEnergy, HwHostPower, ProcessEnergy, ProcessPower, IdleEnergy, IdlePower,
        ContainerEnergy, ContainerPower, PodEnergy, PodPower, VmEnergy, VmPower, HwGpuUtilization, HwGpuMemoryUsage, HwGpuMemoryLimit,
        PlatformOtherEnergy, PlatformOtherPower,
    ];

    /// <summary>Instruments whose series are per consumer: one set per pool type (cpu, gpu), each planned within the limit.</summary>
    public static readonly IReadOnlyList<string> ConsumerInstrumentNames =
    [
        // Idle is not here: it has a series per pool (CPU, each GPU, the platform), so the device limit holds it.
        ProcessEnergy, ProcessPower, ContainerEnergy, ContainerPower, PodEnergy, PodPower, VmEnergy, VmPower,
    ];
}
