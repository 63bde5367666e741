using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OtelPower.Agent.Containers;
using OtelPower.Agent.Exporters;
using OtelPower.Agent.Kubernetes;
using OtelPower.Attribution;
using OtelPower.Sampling;
using OtelPower.Testing;

namespace OtelPower.Agent.Tests;

/// <summary>
/// The sampling loop (OtelPower.Sampling's, wired as the agent wires it) on fake time: intervals come from the
/// injected clock, never from the wall.
/// </summary>
public sealed class SamplingServiceTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly TemporaryDirectory _directory = new();
    private readonly SamplingClock _clock = new();
    private readonly AttributionFeed _feed = new();
    private readonly Channel<AttributionSnapshot> _published = Channel.CreateUnbounded<AttributionSnapshot>();
    private readonly StoppingLifetime _lifetime = new();
    private readonly TaskCompletionSource _skipped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<ServiceProvider> _providers = [];

    public SamplingServiceTests()
    {
        _feed.Published += (_, snapshot) => _published.Writer.TryWrite(snapshot);
    }

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task Each_tick_closes_an_interval_and_samples_stop_the_host()
    {
        using var service = Create(samples: 3);
        await service.StartAsync(CancellationToken.None);
        await _clock.TimerCreated.WaitAsync(Guard);

        var intervals = new List<TimeSpan>();
        for (var tick = 1; tick <= 3; tick++)
        {
            _clock.Advance(Interval);
            intervals.Add((await NextPublishedAsync()).Interval);
        }

        Assert.Equal([Interval, Interval, Interval], intervals);
        await _lifetime.Stopped.WaitAsync(Guard);
        await service.ExecuteTask!.WaitAsync(Guard);
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_tick_soon_after_a_late_sample_is_skipped()
    {
        using var service = Create(samples: 0);
        using var exporting = new SemaphoreSlim(0);
        var slowOnce = true;
        _feed.Published += (_, _) =>
        {
            // The first interval's exporters are slow: the loop is held here while the test moves the clock.
            if (slowOnce)
            {
                slowOnce = false;
                exporting.Wait();
            }
        };
        await service.StartAsync(CancellationToken.None);
        await _clock.TimerCreated.WaitAsync(Guard);

        _clock.Advance(Interval);                        // t = 1: a sample, whose exporters then hang...
        var first = await NextPublishedAsync();
        _clock.Advance(Interval * 1.6);                  // ...past the tick due at t = 2
        exporting.Release();
        var late = await NextPublishedAsync();           // the pending tick: a late sample at t = 2.6
        _clock.Advance(Interval * 0.4);                  // t = 3: 0.4 intervals after the last sample
        await _skipped.Task.WaitAsync(Guard);            // skipped, not a near-zero interval
        _clock.Advance(Interval);                        // t = 4
        var next = await NextPublishedAsync();

        Assert.Equal([Interval, Interval * 1.6, Interval * 1.4], new[] { first, late, next }.Select(s => s.Interval));
        await service.StopAsync(CancellationToken.None);
    }

    /// <summary>
    /// The exact books of each interval, as the JSON lines show them: the host advances between ticks of
    /// the fake clock, so each interval holds exactly one step, and its power is exactly its joules per second.
    /// </summary>
    [Fact]
    public async Task Each_interval_carries_exactly_the_joules_the_host_counted_in_it()
    {
        var tree = new SyntheticHostTree(_directory.Path);
        const ulong max = SyntheticHostTree.PackageRangeMicrojoules;
        ulong package = max - 15_000_000, dram = 1_000_000, core = 0, psys = 0, busy = 10_000, total = 50_000;
        tree.WriteZone("intel-rapl:0", "package-0", package);
        tree.WriteZone("intel-rapl:0:0", "dram", dram);
        tree.WriteZone("intel-rapl:0:1", "core", core);
        tree.WriteZone("intel-rapl:1", "psys", psys);
        tree.WriteCpu(busy, total - busy, cpuCount: 4);
        ulong web = 1_000, db = 2_000, newbie = 1_000;
        tree.WriteProcess(100, "web server", web, startTicks: 10);
        tree.WriteProcess(200, "db)", db, startTicks: 20);
        tree.WriteProcess(300, "idler", 5, startTicks: 30);

        void Advance(int step)
        {
            // Each step: 10 J package (wrapping in step 2), 2 J dram, 6 J core and 20 J psys (neither added),
            // 400 host ticks of which web uses 100 and db 50 while they live.
            package = (package + 10_000_000) % max;
            tree.WriteEnergy("intel-rapl:0", package);
            tree.WriteEnergy("intel-rapl:0:0", dram += 2_000_000);
            tree.WriteEnergy("intel-rapl:0:1", core += 6_000_000);
            tree.WriteEnergy("intel-rapl:1", psys += 20_000_000);
            total += 400;
            busy += 150;
            tree.WriteCpu(busy, total - busy, cpuCount: 4);
            tree.WriteProcess(100, "web server", web += 100, startTicks: 10);
            switch (step)
            {
                case 1:
                    tree.WriteProcess(200, "db)", db += 50, startTicks: 20);
                    break;
                case 2:
                    tree.WriteProcess(200, "db)", db += 50, startTicks: 20);
                    tree.WriteProcess(400, "newbie", newbie, startTicks: 40); // counts from its next sample
                    break;
                case 3:
                    tree.RemoveProcess(200); // exited: its last interval's CPU time is no live process's
                    tree.WriteProcess(400, "newbie", newbie += 40, startTicks: 40);
                    break;
                case 4:
                    tree.WriteProcess(200, "reused", 5_000, startTicks: 90); // a new process with an old pid
                    tree.WriteProcess(400, "newbie", newbie += 40, startTicks: 40);
                    break;
            }
        }

        using var service = Create(tree, samples: 0);
        await service.StartAsync(CancellationToken.None);
        await _clock.TimerCreated.WaitAsync(Guard);

        // lines[0]: an interval in which nothing happened; lines[k]: the interval that holds step k.
        var lines = new List<JsonElement>();
        for (var k = 0; k <= 4; k++)
        {
            if (k > 0)
            {
                Advance(k);
            }

            _clock.Advance(Interval);
            lines.Add(JsonLine(await NextPublishedAsync()));
        }

        await service.StopAsync(CancellationToken.None);

        Assert.Equal(0.0, Host(lines[0]));
        Assert.Empty(lines[0].GetProperty("processes").EnumerateArray());

        // Cumulative joules, line by line: host 12 J a step; web 3 J; db 1.5 J until it exits.
        Assert.Equal([0.0, 12, 24, 36, 48], lines.Select(Host));
        Assert.Equal([0.0, 3, 6, 9, 12], lines.Select(l => Process(l, 100, 10)?.GetProperty("energy_j").GetDouble() ?? 0));
        Assert.Equal(1.5, Process(lines[1], 200, 20)!.Value.GetProperty("energy_j").GetDouble());
        Assert.Equal(3.0, Process(lines[2], 200, 20)!.Value.GetProperty("energy_j").GetDouble());
        Assert.Null(Process(lines[3], 200, 20));
        Assert.Null(Process(lines[2], 400, 40)); // first seen: counts from the next sample
        Assert.Equal(1.2, Process(lines[3], 400, 40)!.Value.GetProperty("energy_j").GetDouble(), 1e-9);
        Assert.Equal(2.4, Process(lines[4], 400, 40)!.Value.GetProperty("energy_j").GetDouble(), 1e-9);
        Assert.Null(Process(lines[4], 200, 90)); // the reused pid starts from zero and has not run yet
        Assert.Null(Process(lines[4], 300, 30)); // used no CPU: not listed

        // Idle takes the rest: 7.5 + 7.5 + 7.8 (db's last 50 ticks had no live owner) + 7.8 J.
        Assert.Equal(30.6, lines[4].GetProperty("idle").GetProperty("energy_j").GetDouble(), 1e-9);

        // Zones: wrapped package counted exactly; core and psys reported, not added.
        var zones = lines[4].GetProperty("zones").EnumerateArray().ToDictionary(z => z.GetProperty("name").GetString()!);
        Assert.Equal(40.0, zones["package-0"].GetProperty("energy_j").GetDouble());
        Assert.Equal(8.0, zones["dram-0"].GetProperty("energy_j").GetDouble());
        Assert.Equal(24.0, zones["core-0"].GetProperty("energy_j").GetDouble());
        Assert.Equal(80.0, zones["psys"].GetProperty("energy_j").GetDouble());
        Assert.Equal("intel-rapl:0", zones["core-0"].GetProperty("parent").GetString());

        // Every interval is exactly one second of fake time, so power is exactly the interval's joules.
        Assert.All(lines, l => Assert.Equal(1.0, l.GetProperty("interval_s").GetDouble()));
        Assert.Equal([0.0, 12, 12, 12, 12], lines.Select(l => l.GetProperty("host").GetProperty("power_w").GetDouble()));
        Assert.Equal(3.0, Process(lines[4], 100, 10)!.Value.GetProperty("power_w").GetDouble(), 1e-9);
        Assert.All(lines, l => Assert.Equal("rapl", l.GetProperty("source").GetString()));
        Assert.Equal("db)", Process(lines[1], 200, 20)!.Value.GetProperty("comm").GetString());
    }

    private static JsonElement JsonLine(AttributionSnapshot snapshot)
    {
        using var stream = new MemoryStream();
        using (var writer = new JsonLinesWriter(stream, ownsStream: false, includeCommandLine: false))
        {
            writer.Write(snapshot);
        }

        return JsonDocument.Parse(stream.ToArray()).RootElement.Clone();
    }

    private static double Host(JsonElement line) => line.GetProperty("host").GetProperty("energy_j").GetDouble();

    private static JsonElement? Process(JsonElement line, int pid, ulong start) =>
        line.GetProperty("processes").EnumerateArray()
            .Where(p => p.GetProperty("pid").GetInt32() == pid && p.GetProperty("start_ticks").GetUInt64() == start)
            .Select(p => (JsonElement?)p)
            .FirstOrDefault();

    private static TimeSpan Guard => TimeSpan.FromSeconds(30);

    private async Task<AttributionSnapshot> NextPublishedAsync() =>
        await _published.Reader.ReadAsync().AsTask().WaitAsync(Guard);

    private BackgroundService Create(int samples)
    {
        var tree = new SyntheticHostTree(_directory.Path);
        tree.WriteCpu(100, 900, 2);
        return Create(tree, samples);
    }

    /// <summary>The loop as AgentHost registers it: AddPowerSampling with the agent's options and container names.</summary>
    private BackgroundService Create(SyntheticHostTree tree, int samples)
    {
        var options = new AgentOptions { Procfs = tree.Procfs, Sysfs = tree.Sysfs, Cgroupfs = "", Interval = Interval.TotalSeconds, Samples = samples };
        var provider = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddFakeLogging(log => log.OutputSink = line =>
            {
                if (line.Contains("Skipped a tick", StringComparison.Ordinal))
                {
                    _skipped.TrySetResult();
                }
            }))
            .AddSingleton<TimeProvider>(_clock)
            .AddSingleton(_feed)
            .AddSingleton<IHostApplicationLifetime>(_lifetime)
            .AddSingleton<IContainerMetadataSource>(new AgentContainerNames(
                new PodMetadataCache([]), new ContainerEngineNames([], Interval, _clock, new FakeLogger<ContainerEngineNames>())))
            .AddPowerSampling(options.CopyTo)
            .BuildServiceProvider();
        _providers.Add(provider);
        return (BackgroundService)Assert.Single(provider.GetServices<IHostedService>());
    }

    private sealed class StoppingLifetime : IHostApplicationLifetime
    {
        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public Task Stopped => _stopped.Task;

        public void StopApplication() => _stopped.TrySetResult();
    }
}
