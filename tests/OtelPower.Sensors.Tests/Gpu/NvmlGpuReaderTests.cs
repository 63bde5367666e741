using Microsoft.Extensions.Logging.Testing;
using System.Buffers.Binary;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;
using OtelPower.Sensors.Gpu;

namespace OtelPower.Sensors.Tests.Gpu;

public sealed class NvmlGpuReaderTests
{
    private const string H100 = "gpu 0 uuid=GPU-11111111-aaaa-bbbb-cccc-000000000000 name=\"NVIDIA H100 80GB HBM3\"";
    private const string A100 = "gpu 1 uuid=GPU-22222222-aaaa-bbbb-cccc-000000000000 name=\"NVIDIA A100-SXM4-40GB\"";

    private readonly FakeTimeProvider _clock = new();
    private readonly FakeLogger<NvmlGpuReader> _log = new();

    [Fact]
    public void Default_library_is_the_soname_so_the_loader_path_applies()
    {
        var options = new NvmlOptions();

        Assert.Equal("libnvidia-ml.so.1", options.LibraryPath);
        Assert.Equal(TimeSpan.FromSeconds(30), options.FailedGpuRetryInterval);
    }

    [Fact]
    public void Missing_library_is_one_information_line_and_no_reader()
    {
        var path = Path.Combine(Path.GetTempPath(), "otelpower-no-nvml-" + Guid.NewGuid().ToString("N"), "libnvidia-ml.so.1");

        var opened = NvmlGpuReader.TryOpen(new NvmlOptions { LibraryPath = path }, _clock, _log, out var reader);

        Assert.False(opened);
        Assert.Null(reader);
        var line = Assert.Single(_log.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.StartsWith("No NVIDIA driver/library (", line.Message, StringComparison.Ordinal);
        Assert.Contains(path, line.Message, StringComparison.Ordinal);
        Assert.EndsWith("GPUs are not measured.", line.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("init_fail\n" + H100 + "\n")]
    [InlineData(null)]
    public void Driver_that_does_not_initialise_is_one_information_line_and_no_reader(string? script)
    {
        using var nvml = new FakeNvml(script ?? "");
        if (script is null)
        {
            File.Delete(nvml.ScriptPath); // the fake answers DRIVER_NOT_LOADED without a script
        }

        var opened = NvmlGpuReader.TryOpen(Options(nvml), _clock, _log, out var reader);

        Assert.False(opened);
        Assert.Null(reader);
        var line = Assert.Single(_log.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains("nvmlInit_v2 returned DRIVER_NOT_LOADED (9)", line.Message, StringComparison.Ordinal);
        Assert.EndsWith("GPUs are not measured.", line.Message, StringComparison.Ordinal);
        Assert.Equal(0, nvml.InitCount);
    }

    [Fact]
    public void Host_without_gpus_is_one_information_line_and_nvml_is_shut_down()
    {
        using var nvml = new FakeNvml("driver 550.54.15\n");

        Assert.False(NvmlGpuReader.TryOpen(Options(nvml), _clock, _log, out _));

        var line = Assert.Single(_log.Collector.GetSnapshot());
        Assert.Contains("NVML counts no GPU", line.Message, StringComparison.Ordinal);
        Assert.Equal(0, nvml.InitCount);
    }

    [Fact]
    public void Counter_gpu_reads_the_scripted_energy_in_microjoules()
    {
        using var nvml = new FakeNvml("driver 550.54.15\n" + H100 + " energy_mj=123456 power_mw=250500 util=55 mem_used=1073741824 mem_total=85899345920\n");
        using var reader = Open(nvml);

        var reading = Assert.Single(reader.Read());

        Assert.Equal(new PoolDevice("GPU-11111111-aaaa-bbbb-cccc-000000000000", "gpu", 0, "gpu-0", "nvidia", "NVIDIA H100 80GB HBM3"), reading.Device);
        Assert.Equal(PoolEnergySource.Counter, reading.Source);
        Assert.Equal(123_456_000UL, reading.EnergyMicrojoules);
        Assert.Equal(0UL, reading.MaxEnergyRangeMicrojoules);
        Assert.Equal(10_000UL, reading.CapacityUnits);
        Assert.Equal(new Power(250.5), reading.Power);
        Assert.Equal(new GpuStatistics(0.55, 1_073_741_824, 85_899_345_920), reading.Gpu);
        Assert.Empty(reading.Usage);
        Assert.Equal("550.54.15", reader.DriverVersion);
        Assert.Contains(_log.Collector.GetSnapshot(), e => e.Level == LogLevel.Information && e.Message.StartsWith("Reading 1 NVIDIA GPUs", StringComparison.Ordinal));

        nvml.Script("driver 550.54.15\n" + H100 + " energy_mj=223457 power_mw=250500\n");
        Assert.Equal(223_457_000UL, Assert.Single(reader.Read()).EnergyMicrojoules);
    }

    [Fact]
    public void Power_only_gpu_integrates_its_power_exactly_on_the_clock_and_says_so_once()
    {
        using var nvml = new FakeNvml(H100 + " counter=0 power_mw=100000\n");
        using var reader = Open(nvml);

        var first = Assert.Single(reader.Read());
        _clock.Advance(TimeSpan.FromSeconds(2));
        nvml.Script(H100 + " counter=0 power_mw=300000\n");
        var second = Assert.Single(reader.Read());
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        var third = Assert.Single(reader.Read());
        _clock.Advance(TimeSpan.FromTicks(3)); // 0.3 µs at 300 W: 90 µJ
        var fourth = Assert.Single(reader.Read());

        Assert.Equal(PoolEnergySource.Power, first.Source);
        Assert.Equal(0UL, first.EnergyMicrojoules);
        Assert.Equal(400_000_000UL, second.EnergyMicrojoules); // (100 W + 300 W) / 2 x 2 s
        Assert.Equal(550_000_000UL, third.EnergyMicrojoules); // + 300 W x 0.5 s
        Assert.Equal(550_000_090UL, fourth.EnergyMicrojoules);
        Assert.Equal(new Power(300), fourth.Power);
        var said = Assert.Single(_log.Collector.GetSnapshot(), e => e.Message.Contains("integrating its power readings", StringComparison.Ordinal));
        Assert.Contains("gpu-0 (GPU-11111111-aaaa-bbbb-cccc-000000000000) has no energy counter (NOT_SUPPORTED (3))", said.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Integrated_energy_keeps_the_fractions_of_a_microjoule()
    {
        using var nvml = new FakeNvml(H100 + " counter=0 power_mw=1\n");
        using var reader = Open(nvml);
        reader.Read();

        // 1 mW for 100 µs is 0.1 µJ: a thousand such readings make 100 µJ, not 0.
        ulong last = 0;
        for (var i = 0; i < 1_000; i++)
        {
            _clock.Advance(TimeSpan.FromTicks(1_000)); // 100 µs: 0.1 µJ
            last = Assert.Single(reader.Read()).EnergyMicrojoules;
        }

        Assert.Equal(100UL, last);
    }

    [Fact]
    public void Usage_is_the_mean_of_the_new_samples_per_pid_not_their_sum()
    {
        const string samples = "sample 0 pid=100 ts=1000 sm=40\nsample 0 pid=200 ts=1500 sm=10\nsample 0 pid=100 ts=2000 sm=60\nsample 0 pid=100 ts=1800 sm=45\n";
        using var nvml = new FakeNvml(H100 + " energy_mj=1\n" + samples);
        using var reader = Open(nvml);

        var first = Assert.Single(reader.Read());
        Assert.Equal([new PoolProcessUsage(100, 4833), new PoolProcessUsage(200, 1000)], first.Usage.AsEnumerable()); // (40 + 45 + 60) / 3 = 48.33 %
        Assert.Equal(0UL, nvml.LastSeenTimeStamp(0));

        // Nothing newer than 2000 µs: NOT_FOUND, no usage.
        var second = Assert.Single(reader.Read());
        Assert.Empty(second.Usage);
        Assert.Equal(2000UL, nvml.LastSeenTimeStamp(0));

        nvml.Script(H100 + " energy_mj=2\n" + samples + "sample 0 pid=100 ts=3000 sm=90\nsample 0 pid=100 ts=3500 sm=80\n");
        var third = Assert.Single(reader.Read());
        Assert.Equal([new PoolProcessUsage(100, 8500)], third.Usage.AsEnumerable());
        Assert.Equal(2000UL, nvml.LastSeenTimeStamp(0));

        Assert.Empty(Assert.Single(reader.Read()).Usage);
        Assert.Equal(3500UL, nvml.LastSeenTimeStamp(0));
    }

    [Fact]
    public void Running_processes_without_samples_get_zero_and_a_process_in_both_lists_appears_once()
    {
        using var nvml = new FakeNvml(
            H100 + "\n"
            + "proc 0 pid=300 kind=compute mem=1048576\nproc 0 pid=300 kind=graphics\nproc 0 pid=42 kind=graphics\nproc 0 pid=7\n"
            + "sample 0 pid=42 ts=10 sm=20\nsample 0 pid=9 ts=11 sm=5\n");
        using var reader = Open(nvml);

        var reading = Assert.Single(reader.Read());

        Assert.Equal(
            [new PoolProcessUsage(7, 0), new PoolProcessUsage(9, 500), new PoolProcessUsage(42, 2000), new PoolProcessUsage(300, 0)],
            reading.Usage.AsEnumerable());
    }

    [Theory]
    [InlineData(24, 3)]
    [InlineData(32, 3)]
    [InlineData(32, 1)]
    [InlineData(32, 150)] // beyond the first buffer: INSUFFICIENT_SIZE, then a larger one
    [InlineData(24, 150)]
    public void Running_process_records_of_either_size_yield_the_true_pids(int stride, int processes)
    {
        var pids = Enumerable.Range(1, processes).Select(i => 1000 + (i * 7)).ToArray();
        var script = H100 + $" stride={stride}\n" + string.Concat(pids.Select((pid, i) => $"proc 0 pid={pid} kind={(i % 3 == 0 ? "graphics" : "compute")} mem={(i + 1) * 4096}\n"));
        using var nvml = new FakeNvml(script);
        using var reader = Open(nvml);

        var reading = Assert.Single(reader.Read());

        Assert.Equal(pids.Select(pid => new PoolProcessUsage(pid, 0)), reading.Usage.AsEnumerable());
    }

    [Theory]
    [InlineData(1, 24, 24)]
    [InlineData(1, 32, 32)]
    [InlineData(4, 24, 24)]
    [InlineData(4, 32, 32)]
    [InlineData(0, 32, 24)]
    public void Record_size_is_measured_from_how_far_the_driver_wrote(int count, int writtenStride, int expected)
    {
        var buffer = new byte[Math.Max(count, 1) * RunningProcessList.R535Stride];
        buffer.AsSpan().Fill(RunningProcessList.Sentinel);
        for (var i = 0; i < count; i++)
        {
            var record = buffer.AsSpan(i * writtenStride, writtenStride);
            record.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(100 + i));
            BinaryPrimitives.WriteUInt32LittleEndian(record[16..], uint.MaxValue); // gpuInstanceId: NVML_VALUE_NOT_AVAILABLE
            BinaryPrimitives.WriteUInt32LittleEndian(record[20..], uint.MaxValue);
        }

        Assert.Equal(expected, RunningProcessList.DetectStride(buffer, count));
    }

    [Fact]
    public void Mig_gpu_gives_each_instance_its_slices_split_equally_among_its_processes()
    {
        using var nvml = new FakeNvml(
            H100 + " mig=1 max_mig=7 energy_mj=5000 util=80 mem_used=100 mem_total=200\n"
            + "mig 0 0 slices=3 pids=10,11\n"  // 30,000 units: 15,000 each
            + "mig 0 1 slices=2 pids=12\n"     // 20,000
            + "mig 0 2 slices=1\n"             // no process: idle
            + "mig 0 4 slices=1 pids=13,14,15\n" // 10,000 / 3 = 3,333 each, 1 unit idle
            + "sample 0 pid=10 ts=5 sm=99\n"); // ignored: MIG GPUs have no process utilisation
        using var reader = Open(nvml);

        var reading = Assert.Single(reader.Read());

        Assert.Equal(70_000UL, reading.CapacityUnits);
        Assert.Equal(
            [
                new PoolProcessUsage(10, 15_000), new PoolProcessUsage(11, 15_000), new PoolProcessUsage(12, 20_000),
                new PoolProcessUsage(13, 3_333), new PoolProcessUsage(14, 3_333), new PoolProcessUsage(15, 3_333),
            ],
            reading.Usage.AsEnumerable());
        Assert.Equal(5_000_000UL, reading.EnergyMicrojoules);
        Assert.Equal(new GpuStatistics(null, 100, 200), reading.Gpu); // utilisation rates are not supported under MIG
        Assert.Single(_log.Collector.GetSnapshot(), e => e.Message.Contains("is in MIG mode", StringComparison.Ordinal));
    }

    [Fact]
    public void Mig_compute_instances_sharing_a_gpu_instance_weigh_their_compute_slices()
    {
        // One 4-slice GPU instance split into a 3c and a 1c compute instance: 4 slices in all, not 8.
        using var nvml = new FakeNvml(H100 + " mig=1 max_mig=7\nmig 0 0 slices=4 ci_slices=3 pids=20\nmig 0 1 slices=4 ci_slices=1 pids=21\n");
        using var reader = Open(nvml);

        var reading = Assert.Single(reader.Read());

        Assert.Equal([new PoolProcessUsage(20, 30_000), new PoolProcessUsage(21, 10_000)], reading.Usage.AsEnumerable());
    }

    [Fact]
    public void Lost_gpu_is_dropped_logged_once_and_retried()
    {
        const string healthy = H100 + " energy_mj=1000\n" + A100 + " energy_mj=2000\n";
        using var nvml = new FakeNvml(healthy);
        using var reader = Open(nvml);
        Assert.Equal(2, reader.Read().Length);

        nvml.Script(H100 + " energy_mj=1100\n" + A100 + " energy_mj=2100 lost=1\n");
        _clock.Advance(TimeSpan.FromSeconds(1));
        var lost = reader.Read();
        _clock.Advance(TimeSpan.FromSeconds(10));
        var stillLost = reader.Read();

        Assert.Equal(1_100_000UL, Assert.Single(lost).EnergyMicrojoules);
        Assert.Equal("gpu-0", Assert.Single(stillLost).Device.Name);
        var warning = Assert.Single(_log.Collector.GetSnapshot(), e => e.Level == LogLevel.Warning);
        Assert.Contains("gpu-1 (GPU-22222222-aaaa-bbbb-cccc-000000000000) failed: GPU_IS_LOST (15)", warning.Message, StringComparison.Ordinal);

        // Back in the driver, but not tried before the back-off ends (30 s after the last try).
        nvml.Script(H100 + " energy_mj=1200\n" + A100 + " energy_mj=2200\n");
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Single(reader.Read());
        _clock.Advance(TimeSpan.FromSeconds(20));
        var back = reader.Read();
        _clock.Advance(TimeSpan.FromSeconds(1));
        var after = reader.Read();

        Assert.Equal([1_200_000UL, 2_200_000UL], back.Select(r => r.EnergyMicrojoules));
        Assert.Equal(2, after.Length);
        Assert.Single(_log.Collector.GetSnapshot(), e => e.Level == LogLevel.Warning);
        var returned = Assert.Single(_log.Collector.GetSnapshot(), e => e.Message.EndsWith("reads again.", StringComparison.Ordinal));
        Assert.Equal("gpu-1 (GPU-22222222-aaaa-bbbb-cccc-000000000000) reads again.", returned.Message);
    }

    [Fact]
    public void Lost_gpu_that_stays_lost_is_retried_quietly()
    {
        using var nvml = new FakeNvml(H100 + " lost=1\n" + A100 + "\n");
        using var reader = Open(nvml);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("gpu-1", Assert.Single(reader.Read()).Device.Name);
            _clock.Advance(TimeSpan.FromSeconds(31));
        }

        var warning = Assert.Single(_log.Collector.GetSnapshot(), e => e.Level == LogLevel.Warning);
        Assert.Contains("gpu-0 (uuid unknown) failed: GPU_IS_LOST (15)", warning.Message, StringComparison.Ordinal);

        nvml.Script(H100 + "\n" + A100 + "\n");
        Assert.Equal(["GPU-11111111-aaaa-bbbb-cccc-000000000000", "GPU-22222222-aaaa-bbbb-cccc-000000000000"], reader.Read().Select(r => r.Device.Id));
    }

    [Fact]
    public void Power_integration_does_not_count_the_time_a_gpu_was_lost()
    {
        using var nvml = new FakeNvml(H100 + " counter=0 power_mw=100000\n");
        using var reader = Open(nvml);
        reader.Read();
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(100_000_000UL, Assert.Single(reader.Read()).EnergyMicrojoules);

        nvml.Script(H100 + " counter=0 power_mw=100000 lost=1\n");
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(reader.Read());
        nvml.Script(H100 + " counter=0 power_mw=100000\n");
        _clock.Advance(TimeSpan.FromSeconds(30));
        var back = Assert.Single(reader.Read());
        _clock.Advance(TimeSpan.FromSeconds(1));
        var next = Assert.Single(reader.Read());

        Assert.Equal(100_000_000UL, back.EnergyMicrojoules); // the baseline again: what the GPU drew while lost is unknown
        Assert.Equal(200_000_000UL, next.EnergyMicrojoules);
    }

    [Fact]
    public void Old_driver_integrates_power_and_divides_nothing()
    {
        using var nvml = new FakeNvml(H100 + " counter=1 energy_mj=999 power_mw=50000\nproc 0 pid=5\nsample 0 pid=5 ts=10 sm=70\n", oldDriver: true);
        using var reader = Open(nvml);

        var first = Assert.Single(reader.Read());
        _clock.Advance(TimeSpan.FromSeconds(4));
        var second = Assert.Single(reader.Read());

        Assert.Equal(PoolEnergySource.Power, second.Source);
        Assert.Equal(200_000_000UL, second.EnergyMicrojoules);
        Assert.Equal([new PoolProcessUsage(5, 0)], first.Usage.AsEnumerable());
        Assert.Equal([new PoolProcessUsage(5, 0)], second.Usage.AsEnumerable());
        var lacks = Assert.Single(_log.Collector.GetSnapshot(), e => e.Message.Contains("lacks", StringComparison.Ordinal));
        Assert.Contains("nvmlDeviceGetTotalEnergyConsumption, nvmlDeviceGetProcessUtilization", lacks.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_log.Collector.GetSnapshot(), e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Gpu_without_process_utilisation_lists_its_processes_at_zero_and_says_so_once()
    {
        using var nvml = new FakeNvml(H100 + " procutil=0\nproc 0 pid=8\nsample 0 pid=8 ts=10 sm=70\n");
        using var reader = Open(nvml);

        Assert.Equal([new PoolProcessUsage(8, 0)], Assert.Single(reader.Read()).Usage.AsEnumerable());
        Assert.Equal([new PoolProcessUsage(8, 0)], Assert.Single(reader.Read()).Usage.AsEnumerable());
        Assert.Single(_log.Collector.GetSnapshot(), e => e.Message.Contains("reports no per-process utilisation (NOT_SUPPORTED (3))", StringComparison.Ordinal));
    }

    [Fact]
    public void Dispose_shuts_nvml_down_and_later_reads_are_empty()
    {
        using var nvml = new FakeNvml(H100 + "\n");
        var reader = Open(nvml);
        Assert.Equal(1, nvml.InitCount);

        reader.Dispose();
        reader.Dispose();

        Assert.Equal(0, nvml.InitCount);
        Assert.Equal(ImmutableArray<EnergyPoolReading>.Empty, reader.Read());
    }

    private static NvmlOptions Options(FakeNvml nvml) => new() { LibraryPath = nvml.LibraryPath };

    private NvmlGpuReader Open(FakeNvml nvml)
    {
        Assert.True(NvmlGpuReader.TryOpen(Options(nvml), _clock, _log, out var reader), string.Join("\n", _log.Collector.GetSnapshot().Select(e => e.Message)));
        return reader;
    }
}
