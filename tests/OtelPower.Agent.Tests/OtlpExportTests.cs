using OpenTelemetry.Proto.Metrics.V1;
using OtelPower.Agent.Tests.Otlp;

namespace OtelPower.Agent.Tests;

/// <summary>The agent exports to a real OTLP receiver (gRPC and http/protobuf), decoded with the OTLP protos.</summary>
public sealed class OtlpExportTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string> Environment(params (string Name, string Value)[] more)
    {
        var environment = new Dictionary<string, string>
        {
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=test,k8s.cluster.name=lab",
            ["NODE_NAME"] = "node-7",
        };
        foreach (var (name, value) in more)
        {
            environment[name] = value;
        }

        return environment;
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Metrics_arrive_with_names_units_attributes_and_resource(string protocol)
    {
        using var host = new HostScenario();
        await using var receiver = await OtlpReceiver.StartAsync();
        var endpoint = protocol == "grpc" ? receiver.GrpcEndpoint : receiver.HttpEndpoint;
        await using var agent = AgentProcess.Start(
            host.AgentArguments("--exporter", "otlp,json", "--otlp-endpoint", endpoint, "--otlp-protocol", protocol),
            Environment());

        await host.StepWithAgentAsync(agent, 4);
        await receiver.WaitForAsync(r => Last(r, "hw.host.energy") == 4 * HostScenario.HostJoulesPerStep, Wait, "host energy of 48 J");

        var hostEnergy = receiver.Points("hw.host.energy");
        var first = hostEnergy[0];
        Assert.Equal("J", first.Metric.Unit);
        Assert.Equal(Metric.DataOneofCase.Sum, first.Metric.DataCase);
        Assert.True(first.Metric.Sum.IsMonotonic);
        Assert.Equal(AggregationTemporality.Cumulative, first.Metric.Sum.AggregationTemporality);
        Assert.Equal("rapl", first.Attribute("otelpower.source"));
        Assert.Equal(Metric.DataOneofCase.Gauge, receiver.Points("hw.host.power")[0].Metric.DataCase);
        Assert.Equal("W", receiver.Points("hw.host.power")[0].Metric.Unit);

        // Monotonic cumulative values with one start time.
        Assert.True(hostEnergy.Zip(hostEnergy.Skip(1)).All(pair => pair.Second.Value >= pair.First.Value));
        Assert.Single(hostEnergy.Select(p => p.Point.StartTimeUnixNano).Distinct());

        // Resource.
        Assert.Equal("otelpower-agent", first.ResourceAttribute("service.name"));
        Assert.False(string.IsNullOrEmpty(first.ResourceAttribute("service.instance.id")));
        Assert.False(string.IsNullOrEmpty(first.ResourceAttribute("host.name")));
        Assert.Equal("linux", first.ResourceAttribute("os.type"));
        Assert.Equal("node-7", first.ResourceAttribute("k8s.node.name"));
        Assert.Equal("test", first.ResourceAttribute("deployment.environment.name"));
        Assert.Equal("lab", first.ResourceAttribute("k8s.cluster.name"));

        // Zones.
        var dram = LastPoints(receiver, "hw.energy").Single(p => p.Attribute("hw.id") == "intel-rapl:0:0");
        Assert.Equal("dram-0", dram.Attribute("hw.name"));
        Assert.Equal("memory", dram.Attribute("hw.type"));
        Assert.Equal("intel-rapl:0", dram.Attribute("hw.parent"));
        Assert.Equal(8.0, dram.Value, 1e-9);
        var package = LastPoints(receiver, "hw.energy").Single(p => p.Attribute("hw.id") == "intel-rapl:0");
        Assert.Equal("cpu", package.Attribute("hw.type"));
        Assert.Null(package.Attribute("hw.parent"));

        // Processes: every exported process series plus idle equals host energy, however the samples fell
        // against the steps (exact per-process joules are checked in-process, by the instrumentation tests).
        var processes = LastPoints(receiver, "otelpower.process.energy");
        // web's first joules are in its executable's series; it has its own pid series once among the top by energy.
        var web = processes.Where(p => p.Attribute("process.executable.name") == "web").ToArray();
        Assert.True(web.Sum(p => p.Value) > 0, "web was attributed energy");
        Assert.Contains(web, p => p.Attribute("process.pid") == "100");
        Assert.All(web, p => Assert.Null(p.Attribute("process.command_line")));
        var idle = LastPoints(receiver, "otelpower.idle.energy").Single();
        Assert.Equal(4 * HostScenario.HostJoulesPerStep, processes.Sum(p => p.Value) + idle.Value, 1e-9);
        Assert.DoesNotContain(receiver.Requests.SelectMany(r => r.ResourceMetrics).SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics)
            .SelectMany(m => m.DataCase == Metric.DataOneofCase.Sum ? m.Sum.DataPoints : m.Gauge.DataPoints)
            .SelectMany(p => p.Attributes), a => a.Key == "otel.metric.overflow");
    }

    [Fact]
    public async Task Collector_down_then_up_loses_no_energy_and_never_resets()
    {
        using var host = new HostScenario();
        await using var receiver = await OtlpReceiver.StartAsync();
        await receiver.StopAsync(); // the collector is down when the agent starts
        await using var agent = AgentProcess.Start(
            host.AgentArguments("--exporter", "otlp,json", "--otlp-endpoint", receiver.GrpcEndpoint),
            Environment());

        // Sampling goes on while nobody receives: 3 steps reach the JSON lines, and the exporter says it failed.
        await host.StepWithAgentAsync(agent, 3);
        await agent.WaitForStandardErrorAsync("OpenTelemetry", Wait);

        await receiver.StartAgainAsync();
        await receiver.WaitForAsync(r => Last(r, "hw.host.energy") == 3 * HostScenario.HostJoulesPerStep, Wait, "36 J after the collector came back");

        // Down again, two more steps, up again: the counter continues from where it was.
        await receiver.StopAsync();
        var startTimes = receiver.Points("hw.host.energy").Select(p => p.Point.StartTimeUnixNano).Distinct().ToArray();
        await host.StepWithAgentAsync(agent, 2);
        await receiver.StartAgainAsync();
        await receiver.WaitForAsync(r => Last(r, "hw.host.energy") == 5 * HostScenario.HostJoulesPerStep, Wait, "60 J after the second outage");

        var values = receiver.Points("hw.host.energy").Select(p => p.Value).ToArray();
        Assert.True(values.Zip(values.Skip(1)).All(pair => pair.Second >= pair.First), "cumulative energy never goes back");
        Assert.Equal(startTimes, receiver.Points("hw.host.energy").Select(p => p.Point.StartTimeUnixNano).Distinct().ToArray());
        Assert.True(agent.StandardError.Split('\n').Length < 40, "export failures are logged without flooding:\n" + agent.StandardError);
    }

    private static double? Last(OtlpReceiver receiver, string metric) => receiver.Points(metric).LastOrDefault()?.Value;

    /// <summary>The points of the newest export that carried the metric.</summary>
    private static IReadOnlyList<ReceivedPoint> LastPoints(OtlpReceiver receiver, string metric)
    {
        var points = receiver.Points(metric);
        var newest = points.Max(p => p.Point.TimeUnixNano);
        return points.Where(p => p.Point.TimeUnixNano == newest).ToArray();
    }
}
