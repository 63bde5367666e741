using System.Globalization;
using OtelPower.Agent.Tests.Prometheus;

namespace OtelPower.Agent.Tests;

/// <summary>A real Prometheus scrapes the agent's /metrics; PromQL answers match the joules the host produced.</summary>
public sealed class PrometheusScrapeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Increase_of_the_energy_counters_matches_the_joules_produced()
    {
        using var host = new HostScenario();
        await using var agent = AgentProcess.Start(host.AgentArguments("--exporter", "prometheus,json", "--prometheus-port", "0"));
        await using var prometheus = await PrometheusServer.StartAsync(await agent.PrometheusPortAsync());

        // Let Prometheus see the counters before any energy is produced, so increase() covers all of it.
        await prometheus.WaitForAsync(async () => (await prometheus.QueryAsync("hw_host_energy_joules_total")).Count == 1, Wait, "the first scrape");
        Assert.Equal(0.0, (await prometheus.QueryAsync("hw_host_energy_joules_total")).Single().Value);

        await host.StepWithAgentAsync(agent, 4);
        await prometheus.WaitForAsync(
            async () => (await prometheus.QueryAsync("hw_host_energy_joules_total")).Single().Value == 4 * HostScenario.HostJoulesPerStep, Wait, "48 J scraped");

        // Evaluate increase() exactly over the scraped samples: range from the first sample to the last,
        // evaluated at the last, so Prometheus does not extrapolate.
        var samples = await prometheus.SamplesAsync("hw_host_energy_joules_total");
        var (firstTime, lastTime) = (samples[0].Time, samples[^1].Time);
        var range = ((long)Math.Round((lastTime - firstTime) * 1000)).ToString(CultureInfo.InvariantCulture) + "ms";

        async Task<double> Increase(string selector) =>
            (await prometheus.QueryAsync($"sum(increase({selector}[{range}]))", lastTime)).Single().Value;

        var hostIncrease = await Increase("hw_host_energy_joules_total");
        Assert.Equal(4 * HostScenario.HostJoulesPerStep, hostIncrease, 1e-6);
        Assert.True(await Increase("otelpower_process_energy_joules_total{process_executable_name=\"web\"}") > 0, "web was attributed energy");

        // Conservation in PromQL: every process series plus idle is the host, however the samples fell
        // against the steps (the exact per-process split is checked in-process). On the values of the last
        // scrape, not on increase(): a pid series that was promoted and earned joules between two scrapes is
        // first scraped above 0, and increase() cannot see what it held before its first sample.
        async Task<double> Sum(string selector) => (await prometheus.QueryAsync($"sum({selector})", lastTime)).Single().Value;
        var processes = await Sum("otelpower_process_energy_joules_total");
        var idle = await Sum("otelpower_idle_energy_joules_total");
        Assert.Equal(await Sum("hw_host_energy_joules_total"), processes + idle, 1e-6);

        // Zones and power carry their names and units; the source label says rapl.
        var zones = await prometheus.QueryAsync("hw_energy_joules_total");
        Assert.Contains(zones, z => z.Labels["hw_name"] == "dram-0" && z.Labels["hw_type"] == "memory" && z.Value == 8.0);
        var power = (await prometheus.QueryAsync("hw_host_power_watts")).Single();
        Assert.Equal("rapl", power.Labels["otelpower_source"]);
        Assert.Empty(await prometheus.QueryAsync("{otel_metric_overflow=\"true\"}"));
    }
}
