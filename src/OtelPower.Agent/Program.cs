using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OtelPower.Agent;
using OtelPower.Agent.Cli;
using OtelPower.Agent.Sampling;
using OtelPower.Sampling;
using OtelPower.Sensors;

var commandLine = CommandLine.Parse(args);
var version = typeof(AgentOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

if (commandLine.Errors.Count > 0)
{
    return Fail(commandLine.Errors);
}

if (commandLine.Command is AgentCommand.Help or AgentCommand.Version or AgentCommand.Complete)
{
    // System.CommandLine's own output: help, the version, or the [suggest] directive's completions.
    return commandLine.Invoke(Console.Out, Console.Error);
}

var configuration = AgentHost.BuildConfiguration(commandLine.Settings);
AgentOptions options;
try
{
    options = AgentHost.BindOptions(configuration);
}
catch (InvalidOperationException exception)
{
    // A configuration value of the wrong type (OTELPOWER_INTERVAL=fast) fails binding.
    return Fail([$"Configuration: {exception.Message}"]);
}

var errors = options.Validate();
if (errors.Count > 0)
{
    return Fail(errors);
}

if (!string.IsNullOrEmpty(options.Output))
{
    try
    {
        AgentHost.OpenOutputFile(options.Output).Dispose();
    }
    catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
    {
        return Fail([$"--output {options.Output}: {exception.Message}"]);
    }
}

using var host = AgentHost.CreateBuilder(configuration, options, version).Build();
HostSampler sampler;
try
{
    // Build the sampler before starting, so a wrong --procfs is a clear error and exit code 2, not a crash.
    sampler = host.Services.GetRequiredService<HostSampler>();
    _ = host.Services.GetService<OtelPower.Agent.Telemetry.OpenTelemetryDiagnostics>();
}
catch (SensorConfigurationException exception)
{
    return Fail([exception.Message]);
}

if (commandLine.Command == AgentCommand.Bench)
{
    // The loop the agent runs (its sampler, pools, names and ledger), sampled back to back without the timer.
    return SampleCostBench.Run(host.Services.GetRequiredService<PowerSampler>(), commandLine.BenchIterations, Console.Out);
}

try
{
    await host.RunAsync();
}
catch (ArgumentException exception)
{
    // Options the configuration binds that only their package can check, when the host builds them at start
    // (OtelPower:Instrumentation:CardinalityLimit below its series budget, say): bad input, not a crash.
    return Fail([$"Configuration: {exception.Message}"]);
}
catch (Exception exception) when (exception is InvalidOperationException or IOException)
{
    // An exporter that cannot start (the Prometheus port is taken, say) is a clear error, not a crash.
    Console.Error.WriteLine($"otelpower: could not start: {exception.Message}{(exception.InnerException is { } inner ? " (" + inner.Message + ")" : string.Empty)}");
    return ExitCodes.Failed;
}

return Environment.ExitCode;

static int Fail(IEnumerable<string> errors)
{
    foreach (var error in errors)
    {
        Console.Error.WriteLine($"otelpower: {error}");
    }

    Console.Error.WriteLine("Run 'otelpower --help' for usage.");
    return ExitCodes.BadInput;
}
