using System.Globalization;
using OtelPower.Sampling;
using OtelPower.Sensors;
using OtelPower.Sensors.Redfish;

namespace OtelPower.Agent;

/// <summary>
/// Every knob of the agent. Bound from (later wins) built-in defaults, appsettings.json,
/// OTELPOWER_-prefixed environment variables and the command line.
/// </summary>
public sealed class AgentOptions
{
    public const string ConsoleExporter = "console";
    public const string JsonExporter = "json";
    public const string OtlpExporter = "otlp";
    public const string PrometheusExporter = "prometheus";
    public const string GrpcProtocol = "grpc";
    public const string HttpProtobufProtocol = "http/protobuf";

    /// <summary>The exporters this build knows, in the order --help lists them.</summary>
    public static readonly IReadOnlyList<string> KnownExporters = [ConsoleExporter, JsonExporter, OtlpExporter, PrometheusExporter];

    public string Procfs { get; set; } = "/proc";

    public string Sysfs { get; set; } = "/sys";

    /// <summary>A powercap tree read instead of <c>&lt;sysfs&gt;/class/powercap</c>: in a guest, its hypervisor's <c>--vm-powercap</c> tree.</summary>
    public string? Powercap { get; set; }

    /// <summary>On a hypervisor, the directory each VM's virtual powercap tree is written under; empty or null for none.</summary>
    public string? VmPowercap { get; set; }

    /// <summary>The cgroup root containers are measured under; empty turns container measurement off.</summary>
    public string Cgroupfs { get; set; } = "/sys/fs/cgroup";

    /// <summary>The NVML library GPUs are read through (a soname or a path); empty turns GPUs off.</summary>
    public string NvmlLibrary { get; set; } = "libnvidia-ml.so.1";

    /// <summary>A BMC's Redfish service for whole-node power (<c>https://bmc</c>); unset: the ACPI power meter, if any.</summary>
    public string? RedfishUrl { get; set; }

    /// <summary>A file holding <c>user:password</c> for Redfish; unset: OTELPOWER_REDFISH_USER / OTELPOWER_REDFISH_PASSWORD.</summary>
    public string? RedfishCredentials { get; set; }

    /// <summary>A PEM CA certificate the BMC's certificate must chain to (BMCs usually self-sign).</summary>
    public string? RedfishCa { get; set; }

    /// <summary>
    /// With a platform meter, divide the node's other energy among consumers by CPU time (<c>hw.type=platform</c>).
    /// Off by default: disks, NICs and fans do not follow CPU time, so the split is a convention, not a measurement.
    /// </summary>
    public bool AttributePlatform { get; set; }

    /// <summary>Seconds between Redfish polls.</summary>
    public double RedfishInterval { get; set; } = 5;

    /// <summary>Name containers from the Kubernetes API (on automatically inside a pod).</summary>
    public bool Kubernetes { get; set; }

    /// <summary>kubeconfig for --kubernetes outside a cluster; else in-cluster config, else ~/.kube/config.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>Comma-separated Docker-compatible engine sockets to name containers from; empty for none.</summary>
    public string? ContainerEngines { get; set; }

    public IReadOnlyList<string> ContainerEngineSockets => ContainerEngines is null
        ? Containers.ContainerEngineNames.DefaultSockets
        : ContainerEngines.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Comma-separated pod label keys copied to attributes as k8s.pod.label.KEY.</summary>
    public string? PodLabels { get; set; }

    /// <summary>Seconds between samples; fractions allowed.</summary>
    public double Interval { get; set; } = 1.0;

    /// <summary>Comma-separated exporter names.</summary>
    public string Exporter { get; set; } = ConsoleExporter;

    /// <summary>File the json exporter appends to; stdout when empty.</summary>
    public string? Output { get; set; }

    /// <summary>Exit 0 after this many reported intervals; 0 runs until stopped.</summary>
    public int Samples { get; set; }

    /// <summary>Process rows in the console view.</summary>
    public int Top { get; set; } = 10;

    /// <summary>Read and export command lines. Off by default: they often carry secrets.</summary>
    public bool IncludeCmdline { get; set; }

    public EstimatorOptions Estimator { get; set; } = new();

    /// <summary>OTLP endpoint; unset: OTEL_EXPORTER_OTLP_ENDPOINT, else the SDK default (localhost 4317 gRPC, 4318 HTTP).</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> or <c>http/protobuf</c>; unset: OTEL_EXPORTER_OTLP_PROTOCOL, else gRPC.</summary>
    public string? OtlpProtocol { get; set; }

    /// <summary>Interface the Prometheus endpoint binds: <c>*</c> for all, <c>localhost</c> for this host only.</summary>
    public string PrometheusHost { get; set; } = "*";

    /// <summary>Port of the Prometheus endpoint (path /metrics); 0 takes a free port from the OS and logs it.</summary>
    public int PrometheusPort { get; set; } = 9464;

    /// <summary>Processes with their own metric series; the rest fold into per-executable series.</summary>
    public int MaxProcessSeries { get; set; } = 20;

    /// <summary>This node's grid carbon intensity, gCO2e/kWh, for otelpower.grid.carbon_intensity; unset: none.</summary>
    public double? CarbonIntensity { get; set; }

    /// <summary>A file holding the grid carbon intensity (one number, gCO2e/kWh), re-read every 30 s.</summary>
    public string? CarbonIntensityFile { get; set; }

    /// <summary>Node name for k8s.node.name; NODE_NAME is read when unset.</summary>
    public string? NodeName { get; set; }

    public IReadOnlyList<string> PodLabelKeys =>
        (PodLabels ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public bool ExportsMetrics => ExporterNames.Contains(OtlpExporter) || ExporterNames.Contains(PrometheusExporter);

    public TimeSpan SamplingInterval => TimeSpan.FromSeconds(Interval);

    public IReadOnlyList<string> ExporterNames =>
        Exporter.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => name.ToLowerInvariant())
            .Distinct(StringComparer.Ordinal)
            .ToArray();

    /// <summary>The sampling loop's view of these options (its sensors, interval and stop).</summary>
    public void CopyTo(PowerSamplingOptions sampling)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        sampling.Interval = SamplingInterval;
        sampling.StopAfterIntervals = Samples;
        sampling.ProcfsRoot = Procfs;
        sampling.SysfsRoot = Sysfs;
        sampling.PowercapPath = Powercap;
        sampling.CgroupfsRoot = Cgroupfs;
        sampling.IncludeCommandLine = IncludeCmdline;
        sampling.AttributePlatformOther = AttributePlatform;
        sampling.Estimator = Estimator;
    }

    public SensorOptions ToSensorOptions()
    {
        var sampling = new PowerSamplingOptions();
        CopyTo(sampling);
        return sampling.ToSensorOptions();
    }

    /// <summary>Every problem with the options, each naming the option and the bad value.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!double.IsFinite(Interval) || Interval < 0.01 || Interval > 3600)
        {
            errors.Add($"--interval must be a number of seconds from 0.01 to 3600, not {Interval.ToString(CultureInfo.InvariantCulture)}.");
        }

        var exporters = ExporterNames;
        if (exporters.Count == 0)
        {
            errors.Add($"--exporter needs at least one of: {string.Join(", ", KnownExporters)}.");
        }

        foreach (var name in exporters.Where(name => !KnownExporters.Contains(name)))
        {
            errors.Add($"--exporter: unknown exporter '{name}'; known: {string.Join(", ", KnownExporters)}.");
        }

        if (!string.IsNullOrEmpty(Output) && !exporters.Contains(JsonExporter))
        {
            errors.Add("--output is for the json exporter; add --exporter json.");
        }

        if (string.IsNullOrEmpty(Output) && exporters.Contains(JsonExporter) && exporters.Contains(ConsoleExporter))
        {
            errors.Add("--exporter console and json would both write to stdout; give json an --output FILE.");
        }

        if (!string.IsNullOrEmpty(OtlpEndpoint)
            && (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            errors.Add($"--otlp-endpoint must be an absolute http:// or https:// URL, not '{OtlpEndpoint}'.");
        }

        if (!string.IsNullOrEmpty(OtlpProtocol) && OtlpProtocol is not (GrpcProtocol or HttpProtobufProtocol))
        {
            errors.Add($"--otlp-protocol must be {GrpcProtocol} or {HttpProtobufProtocol}, not '{OtlpProtocol}'.");
        }

        if (PrometheusPort is < 0 or > 65535)
        {
            errors.Add($"--prometheus-port must be from 0 (any free port, logged) to 65535, not {PrometheusPort}.");
        }

        if (CarbonIntensity is { } intensity && !Telemetry.GridCarbonIntensity.IsValid(intensity))
        {
            errors.Add($"--carbon-intensity must be gCO2e/kWh from 0 to {Telemetry.GridCarbonIntensity.MaxGramsPerKilowattHour.ToString(CultureInfo.InvariantCulture)}, not {intensity.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (CarbonIntensity is not null && !string.IsNullOrEmpty(CarbonIntensityFile))
        {
            errors.Add("--carbon-intensity and --carbon-intensity-file: give one of them.");
        }

        if (MaxProcessSeries < 0)
        {
            errors.Add($"MaxProcessSeries must be 0 or more, not {MaxProcessSeries}.");
        }

        if (Samples < 0)
        {
            errors.Add($"--samples must be 0 (run until stopped) or more, not {Samples}.");
        }

        if (Top < 1)
        {
            errors.Add($"--top must be 1 or more, not {Top}.");
        }

        if (string.IsNullOrWhiteSpace(Procfs))
        {
            errors.Add("--procfs must name a directory.");
        }

        if (string.IsNullOrWhiteSpace(Sysfs))
        {
            errors.Add("--sysfs must name a directory.");
        }

        if (!string.IsNullOrEmpty(RedfishUrl)
            && (!Uri.TryCreate(RedfishUrl, UriKind.Absolute, out var redfish) || redfish.Scheme is not ("http" or "https")))
        {
            errors.Add($"--redfish-url must be an absolute https:// (or http://) URL, not '{RedfishUrl}'.");
        }

        if (!string.IsNullOrEmpty(RedfishUrl) && Uri.TryCreate(RedfishUrl, UriKind.Absolute, out var withUser) && withUser.UserInfo.Length > 0)
        {
            errors.Add("--redfish-url must not carry credentials; use --redfish-credentials FILE or OTELPOWER_REDFISH_USER/PASSWORD.");
        }

        if (!string.IsNullOrEmpty(RedfishCredentials))
        {
            try
            {
                RedfishOptions.ReadCredentials(RedfishCredentials);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                errors.Add($"--redfish-credentials: {exception.Message}");
            }
        }

        if (!string.IsNullOrEmpty(RedfishCa) && !File.Exists(RedfishCa))
        {
            errors.Add($"--redfish-ca: no file {RedfishCa}.");
        }

        if (!double.IsFinite(RedfishInterval) || RedfishInterval < 0.1 || RedfishInterval > 3600)
        {
            errors.Add($"--redfish-interval must be a number of seconds from 0.1 to 3600, not {RedfishInterval.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (Estimator.MinWattsPerCpu < 0 || Estimator.MaxWattsPerCpu < Estimator.MinWattsPerCpu)
        {
            errors.Add("Estimator: need 0 <= MinWattsPerCpu <= MaxWattsPerCpu.");
        }

        return errors;
    }
}
