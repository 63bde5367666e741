using System.Collections.Immutable;
using System.Text.Json;
using OtelPower.Agent.Exporters;
using OtelPower.Attribution;

namespace OtelPower.Agent.Tests;

public sealed class JsonLinesWriterTests
{
    private static readonly EnergyZone Package = new("intel-rapl:0", "package-0", null, EnergyZoneKind.Package);
    private static readonly EnergyZone Core = new("intel-rapl:0:0", "core-0", "intel-rapl:0", EnergyZoneKind.Core);

    [Fact]
    public void Each_snapshot_is_one_line_with_the_documented_keys()
    {
        var lines = Write(Snapshot(commandLine: "app --password=hunter2"), includeCommandLine: false);

        var line = Assert.Single(lines);
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        Assert.Equal("2026-11-25T10:00:02.000Z", root.GetProperty("timestamp").GetString());
        Assert.Equal(2.0, root.GetProperty("interval_s").GetDouble());
        Assert.Equal("rapl", root.GetProperty("source").GetString());
        Assert.Equal(30.0, root.GetProperty("host").GetProperty("energy_j").GetDouble());
        Assert.Equal(5.0, root.GetProperty("host").GetProperty("power_w").GetDouble());
        Assert.Equal(20.0, root.GetProperty("idle").GetProperty("energy_j").GetDouble());

        var zones = root.GetProperty("zones").EnumerateArray().ToArray();
        Assert.Equal(JsonValueKind.Null, zones[0].GetProperty("parent").ValueKind);
        Assert.Equal("intel-rapl:0", zones[1].GetProperty("parent").GetString());
        Assert.Equal("core-0", zones[1].GetProperty("name").GetString());
        Assert.Equal("package", zones[0].GetProperty("kind").GetString());
        Assert.Equal("core", zones[1].GetProperty("kind").GetString());

        var process = Assert.Single(root.GetProperty("processes").EnumerateArray()); // the idle process is not listed
        Assert.Equal(42, process.GetProperty("pid").GetInt32());
        Assert.Equal(777UL, process.GetProperty("start_ticks").GetUInt64());
        Assert.Equal("evil) R 1 (\n\"x\"", process.GetProperty("comm").GetString());
        Assert.Equal(10.0, process.GetProperty("energy_j").GetDouble());
        Assert.Equal(2.5, process.GetProperty("power_w").GetDouble());
        Assert.Equal(0.5, process.GetProperty("cpu_s").GetDouble());
        Assert.False(process.TryGetProperty("cmdline", out _));
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_line_appears_only_when_opted_in()
    {
        var line = Assert.Single(Write(Snapshot(commandLine: "app --verbose"), includeCommandLine: true));
        using var document = JsonDocument.Parse(line);
        Assert.Equal("app --verbose", document.RootElement.GetProperty("processes")[0].GetProperty("cmdline").GetString());
    }

    [Fact]
    public void Estimated_snapshots_say_so()
    {
        var line = Assert.Single(Write(Snapshot(source: EnergySource.Estimate), includeCommandLine: false));
        using var document = JsonDocument.Parse(line);
        Assert.Equal("estimate", document.RootElement.GetProperty("source").GetString());
    }

    private static string[] Write(AttributionSnapshot snapshot, bool includeCommandLine)
    {
        using var stream = new MemoryStream();
        using (var writer = new JsonLinesWriter(stream, ownsStream: false, includeCommandLine))
        {
            writer.Write(snapshot);
        }

        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static AttributionSnapshot Snapshot(string? commandLine = null, EnergySource source = EnergySource.Rapl)
    {
        var interval = TimeSpan.FromSeconds(2);
        var busy = new ProcessIdentity(new ProcessKey(42, 777), "evil) R 1 (\n\"x\"", "evil", commandLine, false);
        var sleeper = new ProcessIdentity(new ProcessKey(43, 778), "sleeper", "sleeper", null, false);
        return new AttributionSnapshot(
            new DateTimeOffset(2026, 11, 25, 10, 0, 2, TimeSpan.Zero),
            interval,
            1,
            source,
            EnergyTally.Start(Energy.FromJoules(30), TimeSpan.FromSeconds(6)),
            [
                new ZoneEnergy(Package, EnergyTally.Start(Energy.FromJoules(30), interval)),
                new ZoneEnergy(Core, EnergyTally.Start(Energy.FromJoules(12), interval)),
            ],
            EnergyTally.Start(Energy.FromJoules(20), interval),
            ImmutableArray.Create(
                new ProcessEnergy(busy, new EnergyTally(Energy.FromJoules(10), Energy.FromJoules(5), new Power(2.5)), 50),
                new ProcessEnergy(sleeper, new EnergyTally(Energy.FromJoules(1), Energy.Zero, Power.Zero), 0)),
            100);
    }
}
