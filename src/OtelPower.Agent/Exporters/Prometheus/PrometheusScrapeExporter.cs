using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace OtelPower.Agent.Exporters.Prometheus;

/// <summary>
/// The exporter behind the endpoint's reader: a collect made by <see cref="TryScrape"/> renders the batch
/// into <see cref="Page"/>; any other collect (the provider's final one at shutdown) leaves the page alone.
/// </summary>
/// <remarks>
/// The SDK lets a pull-only exporter's reader collect only inside its internal pull scope, so this one is
/// a push exporter that nothing pushes: only the endpoint collects, on its own thread, and the scope is a
/// flag on that thread (collect runs the callbacks and the export synchronously on the caller's thread).
/// </remarks>
internal sealed class PrometheusScrapeExporter : BaseExporter<Metric>
{
    [ThreadStatic]
    private static PrometheusScrapeExporter? t_scraping;

    public PrometheusTextSerializer Page { get; } = new();

    /// <summary>Collects <paramref name="reader"/> (whose exporter this is) into <see cref="Page"/>.</summary>
    public bool TryScrape(MetricReader reader, int timeoutMilliseconds)
    {
        ArgumentNullException.ThrowIfNull(reader);
        t_scraping = this;
        try
        {
            return reader.Collect(timeoutMilliseconds);
        }
        finally
        {
            t_scraping = null;
        }
    }

    public override ExportResult Export(in Batch<Metric> batch)
    {
        if (!ReferenceEquals(t_scraping, this))
        {
            return ExportResult.Success;
        }

        Page.Begin(ParentProvider?.GetResource());
        foreach (var metric in batch)
        {
            Page.Write(metric);
        }

        return ExportResult.Success;
    }
}
