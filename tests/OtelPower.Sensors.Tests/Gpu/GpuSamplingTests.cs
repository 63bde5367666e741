using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OtelPower.Attribution;
using OtelPower.Sensors.Gpu;

namespace OtelPower.Sensors.Tests.Gpu;

/// <summary>
/// The sampler with the NVML reader on the stand-in library and a fixture host, advanced in lock step
/// with a fake clock, into the ledger: exact GPU joules per process, interval by interval.
/// </summary>
public sealed class GpuSamplingTests
{
    private const string Counter = "GPU-aaaaaaaa-0000-4000-8000-000000000000";
    private const string PowerOnly = "GPU-bbbbbbbb-0000-4000-8000-000000000000";

    [Fact]
    public void Every_interval_splits_each_gpu_exactly_by_mean_sm_share_and_integrates_power_exactly()
    {
        using var fixture = new FixtureCopy("two-socket");
        using var nvml = new FakeNvml(Script(energyMillijoules: 0, powerMilliwatts: 100_000, step: 0, [], []));
        var clock = new FakeTimeProvider();
        Assert.True(NvmlGpuReader.TryOpen(new NvmlOptions { LibraryPath = nvml.LibraryPath }, clock, new FakeLogger<NvmlGpuReader>(), out var reader));
        using (reader)
        {
            var sampler = new HostSampler(
                new SensorOptions { ProcfsRoot = fixture.Procfs, SysfsRoot = fixture.Sysfs, CgroupfsRoot = null }, clock, new FakeLogger<HostSampler>(), [reader]);
            var ledger = new EnergyLedger();
            Assert.Null(ledger.Record(sampler.Sample()));

            // Per interval: GPU energy (J), GPU 1's power at its end (W), pid 100's two samples and pid 101's.
            (ulong Joules, ulong Watts, int[] Pid100, int[] Pid101)[] steps =
            [
                (300, 100, [40, 60], [10]), // 100: mean 50 % of 300 J; 101: 10 %; pid 999 (not in /proc) idle
                (100, 300, [20, 20], []),
                (0, 300, [90, 70], [30]),   // no energy counted: nothing to share
                (1_000, 50, [100, 100], [100]), // 200 % in total: scaled to the GPU
            ];
            ulong energy = 0;
            long expected100 = 0, expected101 = 0;
            double gpu1Joules = 0;
            ulong previousWatts = 100;
            for (var step = 1; step <= steps.Length; step++)
            {
                var (joules, watts, pid100, pid101) = steps[step - 1];
                energy += joules * 1000;
                nvml.Script(Script(energy, watts * 1000, step, pid100, pid101));
                clock.Advance(TimeSpan.FromSeconds(2));
                var snapshot = ledger.Record(sampler.Sample())!;

                var mean100 = pid100.Sum() * 100L / pid100.Length;
                var mean101 = pid101.Length == 0 ? 0 : pid101.Sum() * 100L / pid101.Length;
                var denominator = Math.Max(10_000, mean100 + mean101 + 2_000); // pid 999 samples 20 % every step
                var share100 = (long)((UInt128)(joules * 1_000_000) * (ulong)mean100 / (ulong)denominator);
                var share101 = (long)((UInt128)(joules * 1_000_000) * (ulong)mean101 / (ulong)denominator);
                expected100 += share100;
                expected101 += share101;

                var counter = snapshot.Pools.Single(p => p.Device.Id == Counter);
                Assert.Equal((long)joules * 1_000_000, counter.Energy.Interval.Microjoules);
                Assert.Equal(share100, snapshot.Processes.Single(p => p.Process.Pid == 100).Gpu.Interval.Microjoules);
                Assert.Equal(share101, snapshot.Processes.Single(p => p.Process.Pid == 101).Gpu.Interval.Microjoules);
                Assert.Equal((long)joules * 1_000_000 - share100 - share101, counter.Idle.Interval.Microjoules);

                // GPU 1 has no counter: trapezoids between readings, 2 s each, and no process uses it.
                gpu1Joules += (previousWatts + watts) / 2.0 * 2;
                previousWatts = watts;
                var integrated = snapshot.Pools.Single(p => p.Device.Id == PowerOnly);
                Assert.Equal((long)(gpu1Joules * 1_000_000), integrated.Energy.Total.Microjoules);
                Assert.Equal(integrated.Energy.Interval, integrated.Idle.Interval);

                Assert.Equal(
                    snapshot.Pools.Sum(p => p.Energy.Interval.Microjoules),
                    snapshot.Processes.Sum(p => p.Gpu.Interval.Microjoules) + snapshot.GpuIdle.Interval.Microjoules);
            }

            var last = ledger.Latest!;
            Assert.Equal(expected100, last.Processes.Single(p => p.Process.Pid == 100).Gpu.Total.Microjoules);
            Assert.Equal(expected101, last.Processes.Single(p => p.Process.Pid == 101).Gpu.Total.Microjoules);
            Assert.Equal(1_400_000_000, last.Pools.Single(p => p.Device.Id == Counter).Energy.Total.Microjoules);
        }
    }

    private static string Script(ulong energyMillijoules, ulong powerMilliwatts, int step, int[] pid100, int[] pid101)
    {
        var lines = new List<string>
        {
            $"gpu 0 uuid={Counter} name=\"NVIDIA H100 80GB HBM3\" energy_mj={energyMillijoules}",
            $"gpu 1 uuid={PowerOnly} name=\"Tesla P100\" counter=0 power_mw={powerMilliwatts}",
            "proc 0 pid=100",
            "proc 0 pid=101",
        };
        var ts = (ulong)step * 1_000_000;
        foreach (var sm in pid100)
        {
            lines.Add($"sample 0 pid=100 ts={++ts} sm={sm}");
        }

        foreach (var sm in pid101)
        {
            lines.Add($"sample 0 pid=101 ts={++ts} sm={sm}");
        }

        if (step > 0)
        {
            lines.Add($"sample 0 pid=999 ts={++ts} sm=20");
        }

        return string.Join("\n", lines) + "\n";
    }
}
