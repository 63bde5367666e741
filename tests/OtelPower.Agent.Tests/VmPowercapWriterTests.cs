using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using OtelPower.Agent.Exporters;
using OtelPower.Attribution;
using OtelPower.Sensors.Powercap;

namespace OtelPower.Agent.Tests;

public sealed class VmPowercapWriterTests
{
    private static readonly VmIdentity Web = new("web-01", "6f1b0c2e-0d6a-4b8e-9a55-1c3f2e4d5a6b", new ProcessKey(3000, 500), @"/machine.slice/machine-qemu\x2d1\x2dweb\x2d01.scope");
    private static readonly VmIdentity Db = new("db", null, new ProcessKey(3100, 600), null);

    // The agent's books: each VM's cumulative joules, as the ledger keeps them (a restarted agent starts from 0).
    private readonly Dictionary<WorkloadKey, long> _totals = [];

    /// <summary>The next snapshot of the books, each VM's joules in this interval added to its total.</summary>
    private AttributionSnapshot Snapshot(params (VmIdentity Vm, long IntervalMicrojoules)[] vms)
    {
        var interval = TimeSpan.FromSeconds(1);
        var host = EnergyTally.Start(new Energy(vms.Sum(v => v.IntervalMicrojoules)), interval);
        var workloads = vms.Select(v =>
        {
            var total = _totals[v.Vm.Key] = _totals.GetValueOrDefault(v.Vm.Key) + v.IntervalMicrojoules;
            return new WorkloadEnergy(v.Vm, new EnergyTally(new Energy(total), new Energy(v.IntervalMicrojoules), new Energy(v.IntervalMicrojoules).Over(interval)), 0);
        });
        return new AttributionSnapshot(
            DateTimeOffset.UnixEpoch, interval, 1, EnergySource.Rapl, host, [], EnergyTally.Start(Energy.Zero, interval), [], 100,
            [.. workloads.OrderBy(w => w.Key)]);
    }

    private static ulong Counter(string root, string vm) =>
        ulong.Parse(File.ReadAllText(Path.Combine(root, vm, "intel-rapl:0", "energy_uj")), NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture);

    [Fact]
    public void Each_vm_gets_a_marked_rapl_tree_whose_counter_grows_by_its_joules()
    {
        using var directory = new TemporaryDirectory();
        var writer = new VmPowercapWriter(directory.Path, NullLogger.Instance);

        writer.Write(Snapshot((Web, 2_000_000), (Db, 500_000)));
        writer.Write(Snapshot((Web, 3_000_000), (Db, 0)));

        Assert.Equal(5_000_000UL, Counter(directory.Path, "web-01"));
        Assert.Equal(500_000UL, Counter(directory.Path, "db"));
        var zone = Path.Combine(directory.Path, "web-01", "intel-rapl:0");
        Assert.Equal("package-0\n", File.ReadAllText(Path.Combine(zone, "name")));
        Assert.Equal(VmPowercapWriter.DefaultMaxEnergyRangeMicrojoules.ToString(CultureInfo.InvariantCulture) + "\n", File.ReadAllText(Path.Combine(zone, "max_energy_range_uj")));
        Assert.Contains("OtelPower hypervisor agent", File.ReadAllText(Path.Combine(directory.Path, "web-01", PowercapReader.HypervisorMarkerFile)), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(directory.Path, "*.tmp-*", SearchOption.AllDirectories));

        // The guest's reader sees one package zone in a tree it knows came from the hypervisor.
        var guest = PowercapReader.DiscoverAt(Path.Combine(directory.Path, "web-01"));
        Assert.True(guest.IsHypervisorTree);
        var package = Assert.Single(guest.Zones);
        Assert.Equal(EnergyZoneKind.Package, package.Zone.Kind);
        Assert.True(PowercapReader.TryRead(package, out var reading, out _));
        Assert.Equal(5_000_000UL, reading.EnergyMicrojoules);
    }

    [Fact]
    public void A_restarted_writer_continues_every_counter_from_the_disk()
    {
        using var directory = new TemporaryDirectory();
        new VmPowercapWriter(directory.Path, NullLogger.Instance).Write(Snapshot((Web, 7_000_000)));

        var restarted = new VmPowercapWriter(directory.Path, NullLogger.Instance);
        _totals.Clear(); // a new agent's books
        restarted.Write(Snapshot((Web, 0))); // a new agent's first interval books no joules for a VM it just met
        Assert.Equal(7_000_000UL, Counter(directory.Path, "web-01"));
        restarted.Write(Snapshot((Web, 1_000_000)));
        Assert.Equal(8_000_000UL, Counter(directory.Path, "web-01"));
    }

    [Fact]
    public void Snapshots_the_writer_skipped_lose_no_joules()
    {
        using var directory = new TemporaryDirectory();
        var writer = new VmPowercapWriter(directory.Path, NullLogger.Instance);
        writer.Write(Snapshot((Web, 1_000_000), (Db, 100)));
        Snapshot((Web, 2_000_000), (Db, 200)); // the writer fell behind and skipped these two
        Snapshot((Web, 4_000_000));
        writer.Write(Snapshot((Web, 8_000_000), (Db, 400)));

        Assert.Equal(15_000_000UL, Counter(directory.Path, "web-01"));
        Assert.Equal(700UL, Counter(directory.Path, "db"));
    }

    [Fact]
    public void The_counter_wraps_only_at_max_energy_range_and_a_reader_recovers_the_true_delta()
    {
        using var directory = new TemporaryDirectory();
        const ulong Range = 10_000_000;
        var writer = new VmPowercapWriter(directory.Path, NullLogger.Instance, Range);
        var random = new Random(10);
        ulong previous = 0, total = 0, recovered = 0;
        for (var i = 0; i < 200; i++)
        {
            var microjoules = random.NextInt64(0, 3_000_000);
            writer.Write(Snapshot((Db, microjoules)));
            var now = Counter(directory.Path, "db");
            Assert.InRange(now, 0UL, Range);
            recovered += EnergyCounter.DeltaMicrojoules(previous, now, Range);
            total += (ulong)microjoules;
            previous = now;
        }

        Assert.Equal(total, recovered);
        Assert.True(total > 10 * Range); // it wrapped many times
    }

    [Fact]
    public async Task A_reader_polling_during_writes_never_sees_a_torn_empty_or_smaller_value()
    {
        using var directory = new TemporaryDirectory();
        var writer = new VmPowercapWriter(directory.Path, NullLogger.Instance);
        writer.Write(Snapshot((Web, 1)));
        var file = Path.Combine(directory.Path, "web-01", "intel-rapl:0", "energy_uj");
        using var stop = new CancellationTokenSource();
        var reads = 0;
        var reader = Task.Run(() =>
        {
            ulong last = 0;
            while (!stop.IsCancellationRequested || reads < 5_000)
            {
                var text = File.ReadAllText(file);
                Assert.EndsWith("\n", text, StringComparison.Ordinal);
                var value = ulong.Parse(text, NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture);
                Assert.True(value >= last, $"{value} after {last}");
                last = value;
                reads++;
            }
        });

        for (var i = 0; i < 3_000; i++)
        {
            writer.Write(Snapshot((Web, 123_456_789)));
        }

        await stop.CancelAsync();
        await reader.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(reads >= 5_000);
    }

    [Theory]
    [InlineData("web-01", "web-01")]
    [InlineData("a/b", "a_b")]
    [InlineData("..", "_..")]
    [InlineData("café", "caf_")]
    public void Vm_names_become_safe_directory_names(string name, string expected) =>
        Assert.Equal(expected, VmPowercapWriter.DirectoryName(name));
}
