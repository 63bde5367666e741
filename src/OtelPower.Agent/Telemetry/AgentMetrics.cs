using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OtelPower.Agent.Exporters.Prometheus;
using OtelPower.Instrumentation;
using OtelPower.Sampling;
using OtelPower.Sensors.Gpu;
using OtelPower.Sensors.Hwmon;

namespace OtelPower.Agent.Telemetry;

/// <summary>
/// Wires the attribution feed to OpenTelemetry: the OtelPower instruments, the agent's Resource, and the
/// OTLP and Prometheus exporters. Export runs on the SDK's own threads, so a slow or absent collector
/// never delays sampling; temporality is cumulative, so counters continue where they were after an outage.
/// </summary>
internal static class AgentMetrics
{
    public static IServiceCollection AddAgentMetrics(this IServiceCollection services, AgentOptions options, string version)
    {
        var exporters = options.ExporterNames;
        var prometheus = exporters.Contains(AgentOptions.PrometheusExporter);
        var nodeName = string.IsNullOrEmpty(options.NodeName) ? Environment.GetEnvironmentVariable("NODE_NAME") : options.NodeName;
        services.AddSingleton<OpenTelemetryDiagnostics>();
        if (prometheus)
        {
            services.AddSingleton(sp => new PrometheusEndpoint(options.PrometheusHost, options.PrometheusPort, sp.GetRequiredService<ILogger<PrometheusEndpoint>>()));
        }

        // A host where no GPU reader opened (no NVML, no amdgpu, i915 or xe hwmon) has no GPU shares to export:
        // without their set of consumer series, the SDK preallocates half the points (see README, footprint).
        services.AddOptions<PowerInstrumentationOptions>().Configure<EnergyPoolReaders>((instrumentation, pools) =>
            instrumentation.IncludeGpuConsumers = pools.Readers.Any(reader => reader is NvmlGpuReader or HwmonGpuReader));
        services.AddOpenTelemetry()
            .ConfigureResource(resource => AgentResource.Configure(resource, version, nodeName))
            .WithMetrics(metrics =>
            {
                // The feed is the one AddPowerSampling registered.
                metrics.AddPowerInstrumentation(instrumentation =>
                {
                    instrumentation.MaxProcessSeries = options.MaxProcessSeries;
                    instrumentation.IncludeCommandLine = options.IncludeCmdline;
                    instrumentation.IncludePlatformConsumers = options.AttributePlatform;
                });

                if (options.CarbonIntensity is not null || !string.IsNullOrEmpty(options.CarbonIntensityFile))
                {
                    metrics.AddMeter(GridCarbonIntensity.MeterName).AddInstrumentation(sp => new GridCarbonIntensity(
                        options.CarbonIntensity, options.CarbonIntensityFile, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<GridCarbonIntensity>>()));
                }

                if (exporters.Contains(AgentOptions.OtlpExporter))
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        if (options.OtlpProtocol is { Length: > 0 } protocol)
                        {
                            exporter.Protocol = protocol == AgentOptions.HttpProtobufProtocol ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                        }

                        if (options.OtlpEndpoint is { Length: > 0 } endpoint)
                        {
                            exporter.Endpoint = SignalEndpoint(new Uri(endpoint), exporter.Protocol);
                        }

                        // Remote write drops delta sums and rate() wants cumulative counters.
                        reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                    });
                }

                if (prometheus)
                {
                    metrics.AddReader(sp => sp.GetRequiredService<PrometheusEndpoint>().Reader);
                }
            });
        if (prometheus)
        {
            // After AddOpenTelemetry's own hosted service, so the MeterProvider exists before the first scrape.
            services.AddHostedService(sp => sp.GetRequiredService<PrometheusEndpoint>());
        }

        return services;
    }

    /// <summary>
    /// An endpoint set in code is used as is by the SDK; for http/protobuf the signal path must be on it.
    /// We take the base URL (as OTEL_EXPORTER_OTLP_ENDPOINT does) and add /v1/metrics when it has no path.
    /// </summary>
    internal static Uri SignalEndpoint(Uri endpoint, OtlpExportProtocol protocol) =>
        protocol == OtlpExportProtocol.HttpProtobuf && endpoint.AbsolutePath is "" or "/"
            ? new Uri(endpoint, "/v1/metrics")
            : endpoint;
}
