using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace OtelPower.Agent.Cli;

/// <summary>
/// System.CommandLine's help, then what the option rows cannot say: configuration, exit codes and completion.
/// (Its help builder is internal; wrapping the action is the supported way to add to the output.)
/// </summary>
internal sealed class HelpWithNotesAction(HelpAction help) : SynchronousCommandLineAction
{
    private const string Notes = """
        Every option can also be set in appsettings.json or as an OTELPOWER_ environment variable
        (OTELPOWER_INTERVAL=2, OTELPOWER_ESTIMATOR__MAXWATTSPERCPU=4). Reading RAPL needs root: without it
        the agent estimates from CPU utilisation and labels every figure source=estimate.
        Exit codes: 0 done, 1 failed while running, 2 bad command line, configuration or input path.
        Shell completion: otelpower "[suggest:POSITION]" "COMMAND LINE" lists the candidates (README: Command line).
        """;

    // Help for a half-typed command line ("otelpower --procfs --help") is still help.
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        var exitCode = help.Invoke(parseResult);
        if (parseResult.CommandResult.Command is RootCommand)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Notes);
        }

        return exitCode;
    }
}
