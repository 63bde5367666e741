using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OtelPower.Attribution;
using OtelPower.Sampling;
using OtelPower.Sensors;

namespace OtelPower.Bench;

/// <summary>
/// Measures one sample (read every process, attribute, publish) in this process on generated trees of
/// 1,000 and 10,000 processes. Reports CPU time and allocations per sample and peak RSS.
/// Run it in Release: <c>dotnet run -c Release --project bench/OtelPower.Bench -- sample</c>.
/// </summary>
internal static class SampleCostBenchmark
{
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var processCounts = new List<int>();
        var iterations = 200;
        var withInstruments = false;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--processes" when i + 1 < args.Count && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var count) && count > 0:
                    processCounts.Add(count);
                    i++;
                    break;
                case "--iterations" when i + 1 < args.Count && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var n) && n > 0:
                    iterations = n;
                    i++;
                    break;
                case "--instruments":
                    withInstruments = true;
                    break;
                default:
                    error.WriteLine($"sample: unexpected argument '{args[i]}'. Usage: sample [--processes N]... [--iterations N] [--instruments]");
                    return 2;
            }
        }

        if (processCounts.Count == 0)
        {
            processCounts.AddRange([1_000, 10_000]);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"OtelPower bench: {Environment.ProcessorCount} CPUs, .NET {Environment.Version}, {(IsOptimized() ? "Release" : "Debug (numbers are pessimistic)")}"));
        output.WriteLine($"{"processes",10} {"samples",8} {"cpu ms/sample",14} {"wall ms/sample",15} {"alloc KB/sample",16} {"alloc B/process",16}");
        foreach (var count in processCounts)
        {
            var result = Measure(count, Math.Max(10, count >= 10_000 ? iterations / 4 : iterations), withInstruments, error);
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{count,10} {result.Samples,8} {result.CpuMilliseconds,14:0.000} {result.WallMilliseconds,15:0.000} {result.AllocatedBytes / 1024.0,16:0.0} {result.AllocatedBytes / count,16:0}"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak RSS (VmHWM) of this process: {PeakResidentMegabytes():0.0} MB"));
        return 0;
    }

    private static (int Samples, double CpuMilliseconds, double WallMilliseconds, long AllocatedBytes) Measure(int processCount, int samples, bool withInstruments, TextWriter progress)
    {
        var root = Path.Combine(Path.GetTempPath(), "otelpower-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generating a tree of {processCount} processes under {root} ..."));
            var tree = BenchHost.Write(root, processCount);

            // The step every loop takes: sample, book the interval, publish.
            var feed = new AttributionFeed();
            var sampler = new PowerSampler(
                new HostSampler(
                    new SensorOptions { ProcfsRoot = tree.Procfs, SysfsRoot = tree.Sysfs, CgroupfsRoot = null },
                    TimeProvider.System,
                    NullLogger<HostSampler>.Instance),
                feed);

            // --instruments: the OtelPower instruments subscribed to the feed, as in an exporting agent, so a
            // sample also costs what they do on each snapshot (planning series, building the view). No reader
            // collects: export costs are per collect, not per sample.
            using var meterProvider = withInstruments
                ? Sdk.CreateMeterProviderBuilder().AddPowerInstrumentation(feed, o => o.MeterName = "OtelPower.Bench").Build()
                : null;

            // Warm up as long as we measure: the identity cache fills on the first sample, and tiered
            // compilation rejits hot methods on background threads that TotalProcessorTime also counts.
            for (var i = 0; i < samples; i++)
            {
                sampler.SampleOnce();
            }

            GC.Collect();
            var process = Process.GetCurrentProcess();
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var wall = Stopwatch.StartNew();
            for (var i = 0; i < samples; i++)
            {
                sampler.SampleOnce();
            }

            wall.Stop();
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            process.Refresh();
            var cpu = process.TotalProcessorTime - cpuBefore;
            return (samples, cpu.TotalMilliseconds / samples, wall.Elapsed.TotalMilliseconds / samples, allocated / samples);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static double PeakResidentMegabytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kilobytes = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return double.Parse(kilobytes, CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return double.NaN;
    }

    private static bool IsOptimized() =>
        typeof(SampleCostBenchmark).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false)
            .OfType<DebuggableAttribute>()
            .All(d => !d.IsJITOptimizerDisabled);
}
