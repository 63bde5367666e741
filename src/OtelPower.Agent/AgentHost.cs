using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtelPower.Agent.Containers;
using OtelPower.Agent.Exporters;
using OtelPower.Agent.Kubernetes;
using OtelPower.Agent.Telemetry;
using OtelPower.Attribution;
using OtelPower.Sampling;
using OtelPower.Sensors;
using OtelPower.Sensors.Gpu;
using OtelPower.Sensors.Hwmon;
using OtelPower.Sensors.Redfish;

namespace OtelPower.Agent;

/// <summary>Builds the agent's generic host: configuration, logging, the sampling loop and the exporters.</summary>
internal static class AgentHost
{
    public const string EnvironmentPrefix = "OTELPOWER_";

    /// <summary>Configuration from (later wins) appsettings.json, OTELPOWER_ variables and the command line.</summary>
    /// <remarks>
    /// The OpenTelemetry SDK reads the standard OTEL_* variables from the host's configuration, so those
    /// are added under their own names; no other unprefixed variable is, so none can shadow an option.
    /// </remarks>
    public static IConfigurationRoot BuildConfiguration(IReadOnlyDictionary<string, string?> commandLineSettings) =>
        new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true, reloadOnChange: false)
            .AddInMemoryCollection(OpenTelemetryEnvironment())
            .AddEnvironmentVariables(EnvironmentPrefix)
            .AddInMemoryCollection(commandLineSettings)
            .Build();

    private static Dictionary<string, string?> OpenTelemetryEnvironment() =>
        Environment.GetEnvironmentVariables()
            .Cast<System.Collections.DictionaryEntry>()
            .Select(entry => (Name: (string)entry.Key, Value: entry.Value as string))
            .Where(variable => variable.Name.StartsWith("OTEL_", StringComparison.Ordinal))
            .ToDictionary(variable => variable.Name, variable => variable.Value, StringComparer.OrdinalIgnoreCase);

    public static AgentOptions BindOptions(IConfiguration configuration)
    {
        var options = new AgentOptions();
        configuration.Bind(options);
        return options;
    }

    public static HostApplicationBuilder CreateBuilder(IConfiguration configuration, AgentOptions options, string version)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = "otelpower",
        });
        builder.Configuration.AddConfiguration(configuration);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

        builder.Logging.AddConfiguration(configuration.GetSection("Logging"));
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss ";
            o.UseUtcTimestamp = true;
        });

        // stdout belongs to the console view or the JSON lines; every log line goes to stderr.
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new EnergyPoolReaders(OpenPoolReaders(options, sp)));
        builder.Services.AddSingleton<IContainerMetadataSource>(sp => new AgentContainerNames(sp.GetRequiredService<PodMetadataCache>(), sp.GetRequiredService<ContainerEngineNames>()));
        builder.Services.AddHostedService(sp => new SnapshotWriterService(
            sp.GetRequiredService<AttributionFeed>(),
            sp.GetServices<ISnapshotWriter>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SnapshotWriterService>>(),
            SnapshotWriterService.BacklogFor(options.Samples)));

        // The loop every OtelPower host shares (sample, book, publish), with the agent's sensors, pools and names.
        builder.Services.AddPowerSampling(options.CopyTo);
        var kubernetesEnabled = options.Kubernetes || KubernetesOptions.RunningInCluster;
        builder.Services.AddKubernetesPodMetadata(watch: kubernetesEnabled);
        builder.Services.Configure<KubernetesOptions>(kubernetes =>
        {
            kubernetes.Enabled = kubernetesEnabled;
            kubernetes.NodeName = string.IsNullOrEmpty(options.NodeName) ? null : options.NodeName;
            kubernetes.KubeconfigPath = string.IsNullOrEmpty(options.Kubeconfig) ? null : options.Kubeconfig;
            kubernetes.PodLabels = options.PodLabelKeys;
        });
        builder.Services.AddSingleton(sp => new ContainerEngineNames(
            options.ContainerEngineSockets, TimeSpan.FromSeconds(10), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ContainerEngineNames>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ContainerEngineNames>());
        AddLocalWriters(builder.Services, options);
        if (options.ExportsMetrics)
        {
            builder.Services.AddAgentMetrics(options, version);
        }

        return builder;
    }

    /// <summary>
    /// Pool readers that could open: NVIDIA GPUs (NVML), AMD and Intel GPUs (hwmon + DRM fdinfo), and one
    /// platform meter (Redfish when --redfish-url is set, else the ACPI power meter). A host without one gets none.
    /// </summary>
    private static List<IEnergyPoolReader> OpenPoolReaders(AgentOptions options, IServiceProvider services)
    {
        var readers = new List<IEnergyPoolReader>();
        var time = services.GetRequiredService<TimeProvider>();
        var loggers = services.GetRequiredService<ILoggerFactory>();
        if (HwmonGpuReader.Open(options.Sysfs, options.Procfs, time, loggers.CreateLogger<HwmonGpuReader>()) is { } hwmonGpus)
        {
            readers.Add(hwmonGpus);
        }

        if (!string.IsNullOrEmpty(options.RedfishUrl))
        {
            var (user, password) = string.IsNullOrEmpty(options.RedfishCredentials)
                ? (Environment.GetEnvironmentVariable(EnvironmentPrefix + "REDFISH_USER"), Environment.GetEnvironmentVariable(EnvironmentPrefix + "REDFISH_PASSWORD"))
                : RedfishOptions.ReadCredentials(options.RedfishCredentials);
            var redfish = new RedfishPlatformReader(
                new RedfishOptions
                {
                    Url = new Uri(options.RedfishUrl),
                    User = string.IsNullOrEmpty(user) ? null : user,
                    Password = password,
                    CaFile = string.IsNullOrEmpty(options.RedfishCa) ? null : options.RedfishCa,
                    PollInterval = TimeSpan.FromSeconds(options.RedfishInterval),
                },
                time,
                loggers.CreateLogger<RedfishPlatformReader>());
            redfish.Start();
            readers.Add(redfish);
        }
        else if (AcpiPowerMeterReader.Open(options.Sysfs, time, loggers.CreateLogger<AcpiPowerMeterReader>()) is { } acpi)
        {
            readers.Add(acpi);
        }
        else if (options.AttributePlatform)
        {
            loggers.CreateLogger(typeof(AgentHost).FullName!).LogWarning(
                "--attribute-platform has nothing to divide: this host has no ACPI power meter under {Sysfs} and no --redfish-url", options.Sysfs);
        }

        if (!string.IsNullOrWhiteSpace(options.NvmlLibrary)
            && NvmlGpuReader.TryOpen(
                new NvmlOptions { LibraryPath = options.NvmlLibrary },
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<NvmlGpuReader>>(),
                out var nvml))
        {
            readers.Add(nvml);
        }

        return readers;
    }

    private static void AddLocalWriters(IServiceCollection services, AgentOptions options)
    {
        var exporters = options.ExporterNames;
        if (exporters.Contains(AgentOptions.ConsoleExporter))
        {
            services.AddSingleton<ISnapshotWriter>(_ => new ConsoleViewWriter(Console.Out, redraw: !Console.IsOutputRedirected, options.Top));
        }

        if (exporters.Contains(AgentOptions.JsonExporter))
        {
            services.AddSingleton<ISnapshotWriter>(_ => string.IsNullOrEmpty(options.Output)
                ? new JsonLinesWriter(Console.OpenStandardOutput(), ownsStream: true, options.IncludeCmdline)
                : new JsonLinesWriter(OpenOutputFile(options.Output), ownsStream: true, options.IncludeCmdline));
        }

        if (!string.IsNullOrWhiteSpace(options.VmPowercap))
        {
            services.AddSingleton<ISnapshotWriter>(sp => new VmPowercapWriter(options.VmPowercap, sp.GetRequiredService<ILogger<VmPowercapWriter>>()));
        }
    }

    /// <summary>Opens the JSON output for appending; a complete line per interval, so a crash never leaves half an object.</summary>
    public static FileStream OpenOutputFile(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read });
}
