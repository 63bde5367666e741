using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OtelPower.Instrumentation;
using OtelPower.Sensors;

namespace OtelPower.Sampling.Tests;

/// <summary>Options bound from configuration sections, named as opentelemetry-dotnet names its instrumentations' options.</summary>
public sealed class NamedOptionsTests
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["OtelPower:Sampling:Interval"] = "00:00:05",
        ["OtelPower:Sampling:ProcfsRoot"] = "/host/proc",
        ["OtelPower:Sampling:CgroupfsRoot"] = "",
        ["OtelPower:Sampling:IncludeCommandLine"] = "true",
        ["OtelPower:Sampling:Estimator:MaxWattsPerCpu"] = "4.5",
        ["OtelPower:Sampling:edge:Interval"] = "00:00:00.5",
        ["OtelPower:Sampling:edge:SysfsRoot"] = "/host/sys",
        ["OtelPower:Sampling:edge:ProcfsRoot"] = "/edge/missing-proc",
        ["OtelPower:Instrumentation:MaxProcessSeries"] = "7",
        ["OtelPower:Instrumentation:IncludeCommandLine"] = "true",
        ["OtelPower:Instrumentation:sidecar:MaxProcessSeries"] = "3",
        ["OtelPower:Instrumentation:sidecar:MaxExecutableSeries"] = "30",
        ["OtelPower:Instrumentation:sidecar:MeterName"] = "Sidecar.Power",
    };

    [Fact]
    public void Sampling_options_come_from_the_OtelPower_Sampling_section()
    {
        using var services = Services().AddPowerSampling().BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<PowerSamplingOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(5), options.Interval);
        Assert.Equal("/host/proc", options.ProcfsRoot);
        Assert.Equal("/sys", options.SysfsRoot);
        Assert.True(options.IncludeCommandLine);
        Assert.Equal(4.5, options.Estimator.MaxWattsPerCpu);
        Assert.Null(options.ToSensorOptions().CgroupfsRoot); // empty turns containers off
    }

    [Fact]
    public void Code_wins_over_the_sampling_section()
    {
        using var services = Services().AddPowerSampling(o => o.Interval = TimeSpan.FromSeconds(2)).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<PowerSamplingOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(2), options.Interval);
        Assert.Equal("/host/proc", options.ProcfsRoot);
    }

    [Fact]
    public void Named_sampling_options_bind_the_section_then_their_subsection_and_the_loop_runs_on_them()
    {
        var collection = Services();
        collection.AddPowerSampling("edge", o => o.IncludeCommandLine = false);
        collection.AddPowerSampling(o => o.Interval = TimeSpan.FromSeconds(9)); // the default name's: not the loop's
        using var services = collection.BuildServiceProvider();
        var monitor = services.GetRequiredService<IOptionsMonitor<PowerSamplingOptions>>();

        var edge = monitor.Get("edge");
        Assert.Equal(TimeSpan.FromMilliseconds(500), edge.Interval); // its subsection over the section
        Assert.Equal("/host/sys", edge.SysfsRoot);
        Assert.Equal("/edge/missing-proc", edge.ProcfsRoot);
        Assert.Equal("/host/proc", monitor.Get(Options.DefaultName).ProcfsRoot);
        Assert.Equal(4.5, edge.Estimator.MaxWattsPerCpu);
        Assert.False(edge.IncludeCommandLine);                        // the call's configure
        Assert.Equal(TimeSpan.FromSeconds(9), monitor.Get(Options.DefaultName).Interval);

        // The one loop is built from the first call's name: its sensors open edge's procfs (which is missing).
        var error = Assert.Throws<SensorConfigurationException>(() => services.GetRequiredService<HostSampler>());
        Assert.Contains("/edge/missing-proc/stat", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_named_instrumentation_binds_the_section_then_its_own_subsection()
    {
        var collection = Services();
        collection.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddPowerInstrumentation()
            .AddPowerInstrumentation("sidecar", o => o.CardinalityLimit = 500));
        using var services = collection.BuildServiceProvider();
        var monitor = services.GetRequiredService<IOptionsMonitor<PowerInstrumentationOptions>>();

        var standard = monitor.Get(Options.DefaultName);
        Assert.Equal(7, standard.MaxProcessSeries);
        Assert.True(standard.IncludeCommandLine);
        Assert.Equal(SemanticConventions.MeterName, standard.MeterName);
        Assert.Equal(2000, standard.CardinalityLimit);

        var sidecar = monitor.Get("sidecar");
        Assert.Equal(3, sidecar.MaxProcessSeries);            // its subsection over the section
        Assert.Equal(30, sidecar.MaxExecutableSeries);
        Assert.True(sidecar.IncludeCommandLine);             // the section's, shared by every name
        Assert.Equal("Sidecar.Power", sidecar.MeterName);
        Assert.Equal(500, sidecar.CardinalityLimit);         // the call's configure
    }

    [Fact]
    public void Configure_with_a_name_wins_over_configuration_whenever_it_was_called()
    {
        var collection = Services();
        collection.Configure<PowerInstrumentationOptions>("sidecar", o => o.MaxProcessSeries = 5); // before the factory is registered
        collection.AddOpenTelemetry().WithMetrics(metrics => metrics.AddPowerInstrumentation("sidecar", configure: null));
        using var services = collection.BuildServiceProvider();

        Assert.Equal(5, services.GetRequiredService<IOptionsMonitor<PowerInstrumentationOptions>>().Get("sidecar").MaxProcessSeries);
    }

    private static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(Settings).Build());
        return services;
    }
}
