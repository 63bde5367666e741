using System.Text;

namespace OtelPower.Agent.Cli;

/// <summary>What the command line asks for.</summary>
internal enum AgentCommand
{
    Run,
    Help,
    Version,
    Bench,
}

/// <summary>
/// Parses the agent's command line into configuration keys. The option names are a public contract;
/// values are checked for shape here and for meaning by <see cref="AgentOptions.Validate"/>, so the same
/// rules apply to values from appsettings.json and the environment.
/// </summary>
internal sealed class CommandLine
{
    public static readonly IReadOnlyList<CommandLineOption> Options =
    [
        new("--procfs", "Procfs", OptionValueKind.Path, "PATH", "procfs root to read CPU time from (default /proc)"),
        new("--sysfs", "Sysfs", OptionValueKind.Path, "PATH", "sysfs root to read powercap RAPL and hwmon from (default /sys)"),
        new("--powercap", "Powercap", OptionValueKind.Path, "PATH", "powercap tree to read instead of <sysfs>/class/powercap (in a VM: the hypervisor's tree)"),
        new("--cgroupfs", "Cgroupfs", OptionValueKind.OptionalPath, "PATH", "cgroup root to measure containers under (default /sys/fs/cgroup; \"\" for none)"),
        new("--interval", "Interval", OptionValueKind.Number, "SECONDS", "time between samples, fractions allowed (default 1)"),
        new("--exporter", "Exporter", OptionValueKind.List, "LIST", "console, json, otlp, prometheus; comma-separated or repeated (default console)"),
        new("--output", "Output", OptionValueKind.Path, "FILE", "append json lines to FILE instead of stdout"),
        new("--samples", "Samples", OptionValueKind.WholeNumber, "N", "exit 0 after N reported intervals (default 0: run until stopped)"),
        new("--top", "Top", OptionValueKind.WholeNumber, "N", "process rows in the console view (default 10)"),
        new("--otlp-endpoint", "OtlpEndpoint", OptionValueKind.Text, "URL", "OTLP collector endpoint (default: OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4317)"),
        new("--otlp-protocol", "OtlpProtocol", OptionValueKind.Text, "PROTOCOL", "grpc or http/protobuf (default: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)"),
        new("--prometheus-port", "PrometheusPort", OptionValueKind.WholeNumber, "PORT", "port of the Prometheus endpoint /metrics (default 9464)"),
        new("--node-name", "NodeName", OptionValueKind.Text, "NAME", "this node's name for k8s.node.name (default: NODE_NAME)"),
        new("--kubernetes", "Kubernetes", OptionValueKind.Flag, "", "name containers from the Kubernetes API (automatic inside a pod)"),
        new("--kubeconfig", "Kubeconfig", OptionValueKind.Path, "PATH", "kubeconfig for --kubernetes outside a cluster"),
        new("--pod-label", "PodLabels", OptionValueKind.List, "KEY", "copy this pod label to attributes (repeatable)"),
        new("--container-engines", "ContainerEngines", OptionValueKind.OptionalPath, "SOCKETS", "Docker/Podman API sockets for container names (default docker.sock, podman.sock; \"\" for none)"),
        new("--carbon-intensity", "CarbonIntensity", OptionValueKind.Number, "G", "this node's grid carbon intensity, gCO2e/kWh (gauge otelpower.grid.carbon_intensity)"),
        new("--carbon-intensity-file", "CarbonIntensityFile", OptionValueKind.Path, "FILE", "read the carbon intensity (one number, gCO2e/kWh) from FILE every 30 s"),
        new("--include-cmdline", "IncludeCmdline", OptionValueKind.Flag, "", "read and export command lines (off: they often hold secrets)"),
        new("--vm-powercap", "VmPowercap", OptionValueKind.Path, "DIR", "on a hypervisor, write DIR/VM/intel-rapl:0 per VM for guests to read (default off)"),
        new("--redfish-url", "RedfishUrl", OptionValueKind.Text, "URL", "BMC Redfish service for whole-node power (default: the ACPI power meter, if any)"),
        new("--redfish-credentials", "RedfishCredentials", OptionValueKind.Path, "FILE", "file with user:password for Redfish (default: OTELPOWER_REDFISH_USER/_PASSWORD)"),
        new("--redfish-ca", "RedfishCa", OptionValueKind.Path, "FILE", "PEM CA certificate the BMC's certificate must chain to"),
        new("--attribute-platform", "AttributePlatform", OptionValueKind.Flag, "", "divide the node's other energy (platform meter - CPU - GPUs) among consumers by CPU time, hw.type=platform (default off)"),
        new("--redfish-interval", "RedfishInterval", OptionValueKind.Number, "SECONDS", "time between Redfish polls (default 5)"),
        new("--nvml-library", "NvmlLibrary", OptionValueKind.OptionalPath, "PATH", "NVIDIA NVML library for GPU energy (default libnvidia-ml.so.1; \"\" for none)"),
    ];

    private CommandLine(AgentCommand command, IReadOnlyDictionary<string, string?> settings, IReadOnlyList<string> errors, IReadOnlyList<string> commandArguments)
    {
        Command = command;
        Settings = settings;
        Errors = errors;
        CommandArguments = commandArguments;
    }

    public AgentCommand Command { get; }

    /// <summary>Configuration keys and values set on the command line.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; }

    public IReadOnlyList<string> Errors { get; }

    /// <summary>The arguments after a sub-command such as <c>bench</c>.</summary>
    public IReadOnlyList<string> CommandArguments { get; }

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count > 0 && args[0] == "bench")
        {
            return new CommandLine(AgentCommand.Bench, new Dictionary<string, string?>(), [], args.Skip(1).ToArray());
        }

        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var errors = new List<string>();
        var command = AgentCommand.Run;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                command = AgentCommand.Help;
                continue;
            }

            if (arg is "--version")
            {
                command = AgentCommand.Version;
                continue;
            }

            var (name, inlineValue) = SplitInlineValue(arg);
            var option = Options.FirstOrDefault(o => string.Equals(o.Name, name, StringComparison.Ordinal));
            if (option is null)
            {
                errors.Add(arg.StartsWith('-') ? $"Unknown option '{arg}'." : $"Unexpected argument '{arg}'.");
                continue;
            }

            if (!option.TakesValue)
            {
                settings[option.ConfigurationKey] = inlineValue ?? "true";
                continue;
            }

            var value = inlineValue;
            if (value is null)
            {
                if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                {
                    errors.Add($"{option.Name} needs a value ({option.ValueName}).");
                    continue;
                }

                value = args[++i];
            }

            if (!option.TryCheckValue(value, out var error))
            {
                errors.Add(error!);
                continue;
            }

            // A repeated list option adds to the list; any other repeated option: the last one wins.
            settings[option.ConfigurationKey] = option.Kind == OptionValueKind.List && settings.TryGetValue(option.ConfigurationKey, out var earlier)
                ? earlier + "," + value
                : value;
        }

        return new CommandLine(command, settings, errors, []);
    }

    public static string HelpText(string version)
    {
        var text = new StringBuilder();
        text.AppendLine($"otelpower {version}: per-process energy from RAPL (or a labelled estimate), attributed by CPU time.");
        text.AppendLine();
        text.AppendLine("Usage: otelpower [options]");
        text.AppendLine("       otelpower bench [--processes N] [--iterations N]");
        text.AppendLine();
        text.AppendLine("Options:");
        foreach (var option in Options)
        {
            var left = option.TakesValue ? $"{option.Name} {option.ValueName}" : option.Name;
            text.AppendLine($"  {left,-24} {option.Help}");
        }

        text.AppendLine($"  {"--help, -h",-24} show this help and exit");
        text.AppendLine($"  {"--version",-24} print the version and exit");
        text.AppendLine();
        text.AppendLine("Every option can also be set in appsettings.json or as an OTELPOWER_ environment variable");
        text.AppendLine("(OTELPOWER_INTERVAL=2, OTELPOWER_ESTIMATOR__MAXWATTSPERCPU=4). Reading RAPL needs root: without it");
        text.AppendLine("the agent estimates from CPU utilisation and labels every figure source=estimate.");
        text.AppendLine("Exit codes: 0 done, 1 failed while running, 2 bad command line, configuration or input path.");
        return text.ToString();
    }

    private static (string Name, string? Value) SplitInlineValue(string arg)
    {
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && equals > 2 ? (arg[..equals], arg[(equals + 1)..]) : (arg, null);
    }
}
