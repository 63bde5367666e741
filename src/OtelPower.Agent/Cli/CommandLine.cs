using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Globalization;

namespace OtelPower.Agent.Cli;

/// <summary>What the command line asks for.</summary>
internal enum AgentCommand
{
    Run,
    Help,
    Version,

    /// <summary>The <c>[suggest]</c> directive: shell completion.</summary>
    Complete,
    Bench,
}

/// <summary>
/// Parses the agent's command line, with System.CommandLine, into configuration keys. The option names are a
/// public contract; values are checked for shape here and for meaning by <see cref="AgentOptions.Validate"/>, so
/// the same rules apply to values from appsettings.json and the environment. Help, <c>--version</c> and shell
/// completion (<c>[suggest]</c>) are System.CommandLine's own.
/// </summary>
internal sealed class CommandLine
{
    public const string BenchCommandName = "bench";

    public static readonly IReadOnlyList<CommandLineOption> Options =
    [
    new("--procfs", "Procfs", OptionValueKind.Path, "PATH", "procfs root to read CPU time from (default /proc)"),
        new("--sysfs", "Sysfs", OptionValueKind.Path, "PATH", "sysfs root to read powercap RAPL and hwmon from (default /sys)"),
        new("--powercap", "Powercap", OptionValueKind.Path, "PATH", "powercap tree to read instead of <sysfs>/class/powercap (in a VM: the hypervisor's tree)"),
        new("--cgroupfs", "Cgroupfs", OptionValueKind.OptionalPath, "PATH", "cgroup root to measure containers under (default /sys/fs/cgroup; \"\" for none)"),
        new("--interval", "Interval", OptionValueKind.Number, "SECONDS", "time between samples, fractions allowed (default 1)"),
        new("--exporter", "Exporter", OptionValueKind.List, "LIST", "console, json, otlp, prometheus; comma-separated or repeated (default console)")
        {
            Completions = AgentOptions.KnownExporters,
        },
        new("--output", "Output", OptionValueKind.Path, "FILE", "append json lines to FILE instead of stdout"),
        new("--samples", "Samples", OptionValueKind.WholeNumber, "N", "exit 0 after N reported intervals (default 0: run until stopped)"),
        new("--top", "Top", OptionValueKind.WholeNumber, "N", "process rows in the console view (default 10)"),
        new("--otlp-endpoint", "OtlpEndpoint", OptionValueKind.Text, "URL", "OTLP collector endpoint (default: OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4317)"),
        new("--otlp-protocol", "OtlpProtocol", OptionValueKind.Text, "PROTOCOL", "grpc or http/protobuf (default: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)")
        {
            Completions = [AgentOptions.GrpcProtocol, AgentOptions.HttpProtobufProtocol],
        },
        new("--prometheus-port", "PrometheusPort", OptionValueKind.WholeNumber, "PORT", "port of the Prometheus endpoint /metrics (default 9464; 0: any free port, logged)"),
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

    /// <summary>The options <c>bench</c> takes besides its own: those that decide what one sample reads.</summary>
    private static readonly string[] BenchSampleOptions = ["--procfs", "--sysfs", "--powercap", "--cgroupfs", "--nvml-library", "--include-cmdline"];

    private const int DefaultBenchIterations = 50;

    private CommandLine(ParseResult result, AgentCommand command, IReadOnlyList<(CommandLineOption Spec, Option Option)> options, IReadOnlyList<string> errors, int benchIterations)
    {
        Result = result;
        Command = command;
        Errors = errors;
        BenchIterations = benchIterations;
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (spec, option) in options)
        {
            if (spec.SettingOf(result, option) is { } value)
            {
                settings[spec.ConfigurationKey] = value;
            }
        }

        Settings = settings;
    }

    public AgentCommand Command { get; }

    /// <summary>Configuration keys and values set on the command line.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; }

    /// <summary>Each problem with the command line, naming the option or word and what is wrong.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>Samples <c>bench</c> measures (after as many to warm up).</summary>
    public int BenchIterations { get; }

    /// <summary>System.CommandLine's parse of the arguments.</summary>
    public ParseResult Result { get; }

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = Options.Select(spec => (Spec: spec, Option: spec.CreateOption())).ToArray();
        var iterations = new Option<int>("--iterations")
        {
            Description = "samples to measure, after as many to warm up",
            HelpName = "N",
            DefaultValueFactory = _ => DefaultBenchIterations,
        };
        iterations.Validators.Add(result =>
        {
            // A word that is not a number is System.CommandLine's error already.
            if (result.Tokens is [.., var last] && int.TryParse(last.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) && count < 1)
            {
                result.AddError("--iterations must be 1 or more.");
            }
        });
        var root = CreateRootCommand(options.Select(pair => pair.Option), options.Where(pair => BenchSampleOptions.Contains(pair.Spec.Name)).Select(pair => pair.Option), iterations);

        // No response files: "--procfs @x" means the path @x, as it always has.
        var result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var command = result.Action switch
        {
            ParseErrorAction => AgentCommand.Run,
            HelpWithNotesAction => AgentCommand.Help,
            _ when result.GetResult(root.Directives.OfType<SuggestDirective>().Single()) is not null => AgentCommand.Complete,
            { } action when action == root.Options.OfType<VersionOption>().Single().Action => AgentCommand.Version,
            _ when result.CommandResult.Command.Name == BenchCommandName => AgentCommand.Bench,
            _ => AgentCommand.Run,
        };

        // --help and [suggest] clear parse errors: help for a half-typed command line is still help.
        var errors = result.Action is ParseErrorAction ? result.Errors.Select(error => error.Message).Distinct(StringComparer.Ordinal).ToArray() : [];
        // A value that failed to convert throws when read; with errors the command does not run.
        return new CommandLine(result, command, options, errors, errors.Length == 0 ? result.GetValue(iterations) : DefaultBenchIterations);
    }

    /// <summary>Runs System.CommandLine's own action for help, <c>--version</c> and <c>[suggest]</c>.</summary>
    public int Invoke(TextWriter output, TextWriter error) =>
        Result.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });

    private static RootCommand CreateRootCommand(IEnumerable<Option> options, IEnumerable<Option> benchSampleOptions, Option<int> iterations)
    {
        var root = new RootCommand("Per-process energy from RAPL (or a labelled estimate), attributed by CPU time; exported to the console, JSON lines, OTLP or Prometheus.");
        foreach (var option in options)
        {
            root.Add(option);
        }

        // The agent runs in Program.cs; without an action here System.CommandLine would demand a sub-command.
        root.SetAction(_ => ExitCodes.Success);
        var bench = new Command(BenchCommandName, "Measure what one sample of this host costs (CPU, allocations, peak RSS), then exit");
        bench.SetAction(_ => ExitCodes.Success);
        bench.Add(iterations);
        foreach (var option in benchSampleOptions)
        {
            bench.Add(option);
        }

        root.Add(bench);

        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithNotesAction((HelpAction)help.Action!);
        return root;
    }
}
