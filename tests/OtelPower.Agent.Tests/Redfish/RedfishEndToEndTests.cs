using System.Text.Json;
using OtelPower.Testing;

namespace OtelPower.Agent.Tests.Redfish;

/// <summary>The built agent polling DMTF's mockup from an in-test server for whole-node power.</summary>
public sealed class RedfishEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);
    private readonly TemporaryDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Chassis_power_from_the_mockup_is_the_platform_pool_and_follows_the_bmc()
    {
        await using var bmc = await MockupRedfishServer.StartAsync("monitor", "s3cr:et");
        var credentials = Path.Combine(_directory.Path, "redfish-credentials");
        File.WriteAllText(credentials, "monitor:s3cr:et\n");
        var tree = new SyntheticHostTree(Path.Combine(_directory.Path, "host"));
        tree.WriteZone("intel-rapl:0", "package-0", 1_000_000);
        tree.WriteCpu(1_000, 19_000, cpuCount: 4);
        tree.WriteProcess(300, "worker", 100, startTicks: 30);

        var arguments = new[]
        {
            "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", "", "--interval", "0.3", "--nvml-library", "",
            "--exporter", "json", "--container-engines", "",
            "--redfish-url", bmc.BaseAddress.ToString(), "--redfish-credentials", credentials, "--redfish-interval", "0.2",
        };
        await using var agent = AgentProcess.Start(arguments);

        var first = await agent.ReadUntilAsync(l => PlatformWatts(l) is { } w && Math.Abs(w - 374) < 0.5, "met the condition", Wait);
        var platform = first.GetProperty("platform");
        Assert.Equal("redfish", platform.GetProperty("source").GetString());
        Assert.True(platform.GetProperty("other_energy_j").GetDouble() >= 0);

        bmc.PowerWatts = 512;
        var moved = await agent.ReadUntilAsync(l => PlatformWatts(l) is { } w && Math.Abs(w - 512) < 0.5, "met the condition", Wait);
        var energy = moved.GetProperty("platform").GetProperty("energy_j").GetDouble();
        Assert.True(energy > first.GetProperty("platform").GetProperty("energy_j").GetDouble());
        Assert.Equal(energy - moved.GetProperty("host").GetProperty("energy_j").GetDouble(), moved.GetProperty("platform").GetProperty("other_energy_j").GetDouble(), 1e-3);

        // Credentials went in a header from the file, never in the arguments or the URL.
        Assert.All(bmc.Requests, r => Assert.True(r.Authorized, r.Path));
        Assert.Contains(bmc.Requests, r => r.Path == "/redfish/v1/Chassis/1U/EnvironmentMetrics");
        Assert.DoesNotContain(arguments, a => a.Contains("s3cr", StringComparison.Ordinal));
        Assert.Contains("Redfish: whole-node power from", agent.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_credentials_leave_the_host_measured_as_before_and_are_reported_once()
    {
        await using var bmc = await MockupRedfishServer.StartAsync("monitor", "right");
        var tree = new SyntheticHostTree(Path.Combine(_directory.Path, "host"));
        tree.WriteZone("intel-rapl:0", "package-0", 1_000_000);
        tree.WriteCpu(1_000, 19_000, cpuCount: 4);

        await using var agent = AgentProcess.Start(
            ["--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", "", "--interval", "0.3", "--nvml-library", "", "--exporter", "json", "--samples", "3",
             "--container-engines", "", "--redfish-url", bmc.BaseAddress.ToString(), "--redfish-interval", "0.1"],
            new Dictionary<string, string> { ["OTELPOWER_REDFISH_USER"] = "monitor", ["OTELPOWER_REDFISH_PASSWORD"] = "wrong" });
        var stdout = await agent.ReadToEndAsync(Wait);
        Assert.Equal(0, await agent.WaitForExitAsync(Wait));
        var stderr = agent.StandardError;

        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, lines.Count);
        Assert.All(lines, l => Assert.False(l.TryGetProperty("platform", out _)));
        Assert.Single(stderr.Split('\n'), l => l.Contains("Redfish at", StringComparison.Ordinal) && l.Contains("401", StringComparison.Ordinal));
        Assert.Contains(bmc.Requests, r => !r.Authorized);
    }

    private static double? PlatformWatts(JsonElement line) =>
        line.TryGetProperty("platform", out var platform) ? platform.GetProperty("power_w").GetDouble() : null;

}
