// An ASP.NET Core service that exports its traces and its own process energy over OTLP, so one dashboard
// shows requests and joules side by side. The standard OTEL_* variables choose the collector:
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 dotnet run --project examples/OtelPower.Examples.TracedService
using System.Diagnostics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(args);
var work = new ActivitySource("Shop.Work");

// Samples the host once a second into the AttributionFeed the instruments read. No containers here: this
// service meters only its own process. OtelPower:Sampling in appsettings or the environment also applies.
builder.Services.AddPowerSampling(sampling => sampling.CgroupfsRoot = null);
builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService("shop-api"))
    .WithTracing(tracing => tracing
        .AddAspNetCoreInstrumentation()
        .AddSource(work.Name)
        .AddOtlpExporter())
    .WithMetrics(metrics => metrics
        .AddAspNetCoreInstrumentation()
        // Only this process: the host's own series (hw.host.*) come along, the other processes do not.
        .AddPowerInstrumentation(power => power.ProcessFilter = process => process.Pid == Environment.ProcessId)
        .AddOtlpExporter());

var app = builder.Build();

// Burns CPU for ?ms= milliseconds inside a span: the joules it costs show up in otelpower.process.energy.
app.MapGet("/work", (int? ms) =>
{
    var duration = TimeSpan.FromMilliseconds(Math.Clamp(ms ?? 200, 1, 10_000));
    using var span = work.StartActivity("burn-cpu");
    span?.SetTag("work.duration_ms", duration.TotalMilliseconds);
    var stopwatch = Stopwatch.StartNew();
    var x = 0.0;
    while (stopwatch.Elapsed < duration)
    {
        x += Math.Sqrt(stopwatch.ElapsedTicks);
    }

    return Results.Ok(new { burned_ms = stopwatch.Elapsed.TotalMilliseconds, checksum = x > 0 });
});

app.Run();
