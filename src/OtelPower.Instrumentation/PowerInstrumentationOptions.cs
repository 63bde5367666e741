using OtelPower.Attribution;

namespace OtelPower.Instrumentation;

/// <summary>Knobs of the OtelPower instruments. See CARDINALITY.md for how the series are bounded.</summary>
public sealed class PowerInstrumentationOptions
{
    /// <summary>The configuration section the options are bound from; a named instance also binds its subsection (<c>OtelPower:Instrumentation:NAME</c>).</summary>
    public const string ConfigurationSection = "OtelPower:Instrumentation";

    /// <summary>Live processes that may hold their own series at once (the top by energy); the rest fold per executable.</summary>
    public int MaxProcessSeries { get; set; } = 20;

    /// <summary>Executables that get an aggregate series over the agent's lifetime; later ones fold into <c>other</c>.</summary>
    public int MaxExecutableSeries { get; set; } = 100;

    /// <summary>Namespaces that get an aggregate series for containers and pods past the budget; later ones fold into <c>other</c>.</summary>
    public int MaxNamespaceSeries { get; set; } = 100;

    /// <summary>
    /// The SDK's limit for the device instruments (<c>hw.energy</c>, <c>hw.power</c>, <c>hw.host.*</c>, <c>hw.gpu.*</c>,
    /// <c>otelpower.platform.other.*</c>): one series per RAPL zone, GPU or meter of one node, far fewer than this.
    /// </summary>
    public const int DeviceSeriesLimit = 128;

    /// <summary>The SDK's per-instrument limit (a lifetime budget under cumulative temporality), set by a View.</summary>
    public int CardinalityLimit { get; set; } = 2000;

    /// <summary>
    /// Not bound from configuration (a delegate). For an application that meters itself: when set, only processes it accepts are exported, each with its
    /// own series from first sight; all others are left out of <c>otelpower.process.*</c> (host, zone and idle
    /// series are unchanged). Keep it to a handful of processes: each accepted process is a series.
    /// </summary>
    public Func<ProcessIdentity, bool>? ProcessFilter { get; set; }

    /// <summary>
    /// The name of the Meter the instruments are created on, and the only meter the Views and <c>AddMeter</c>
    /// apply to. Keep the default outside tests: dashboards and collector pipelines select on it. Two providers
    /// in one process that listen to the same meter name see each other's measurements, so tests that build
    /// several providers at once give each its own name.
    /// </summary>
    public string MeterName { get; set; } = SemanticConventions.MeterName;

    /// <summary>
    /// Export each consumer's share of the node's other energy (platform meter minus CPU and GPUs, divided by CPU
    /// time when the ledger is built with <c>attributePlatformOther</c>; the agent's <c>--attribute-platform</c>) as a
    /// third set of consumer series with <c>hw.type=platform</c>, with its own budget. Off by default, like the division.
    /// </summary>
    public bool IncludePlatformConsumers { get; set; }

    /// <summary>
    /// Export each consumer's share of the GPUs' energy as a set of consumer series with <c>hw.type=gpu</c> (on by
    /// default). The SDK allocates every consumer instrument's points up front, per reader, for each set: a host
    /// that knows it has no GPU can turn this off to halve them (the agent does when it opened no GPU reader).
    /// When off, GPU devices and GPU idle are still exported; only the per-consumer GPU shares are not.
    /// </summary>
    public bool IncludeGpuConsumers { get; set; } = true;

    /// <summary>Consumer series sets per instrument: CPU, GPU when <see cref="IncludeGpuConsumers"/>, platform when <see cref="IncludePlatformConsumers"/>.</summary>
    internal int ConsumerSeriesSets => 1 + (IncludeGpuConsumers ? 1 : 0) + (IncludePlatformConsumers ? 1 : 0);

    /// <summary>Add <c>process.command_line</c>. Off by default: command lines carry secrets and blow up series sizes.</summary>
    public bool IncludeCommandLine { get; set; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(MeterName))
        {
            throw new ArgumentException($"{ConfigurationSection}: MeterName must not be empty.");
        }

        if (MaxProcessSeries < 0 || MaxExecutableSeries < 1 || MaxNamespaceSeries < 1)
        {
            throw new ArgumentException($"{ConfigurationSection}: MaxProcessSeries must be >= 0; MaxExecutableSeries and MaxNamespaceSeries >= 1.");
        }

        // Every instrument must fit its dedicated series, its folded series and the overflow slot.
        if (CardinalityLimit < MaxProcessSeries + MaxExecutableSeries + 2 || CardinalityLimit < MaxNamespaceSeries + 2)
        {
            throw new ArgumentException(
                $"{ConfigurationSection}: CardinalityLimit ({CardinalityLimit}) must exceed MaxProcessSeries + MaxExecutableSeries + 1 ({MaxProcessSeries + MaxExecutableSeries + 1}) and MaxNamespaceSeries + 1 ({MaxNamespaceSeries + 1}).");
        }
    }
}
