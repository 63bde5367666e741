using System.Diagnostics;
using System.Globalization;
using OtelPower.Attribution;
using OtelPower.Sampling;

namespace OtelPower.Agent.Sampling;

/// <summary>
/// <c>otelpower bench</c>: what one sample of this host costs this agent, measured in the shipped executable
/// with the sampler the agent would run (the same pools, GPUs included), back to back, exporters left out.
/// bench/OtelPower.Bench measures the same loop on synthetic hosts of N processes, and bench/compare.sh sets the
/// published agent against prometheus-process-exporter; neither belongs in the binary (issue 11).
/// </summary>
internal static class SampleCostBench
{
    public static int Run(PowerSampler sampler, int samples, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(output);

        // Warm up as long as we measure: the identity cache fills on the first sample, and a JIT build
        // compiles each method on its first call.
        AttributionSnapshot? last = null;
        for (var i = 0; i < samples; i++)
        {
            last = sampler.SampleOnce();
        }

        GC.Collect();
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < samples; i++)
        {
            last = sampler.SampleOnce();
        }

        wall.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;

        var processes = Math.Max(1, last!.Processes.Length);
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"otelpower bench: {last.Processes.Length} processes, {last.Containers.Length} containers, {last.Pools.Length} other pools, source {last.Source.ToString().ToLowerInvariant()}, {Environment.ProcessorCount} CPUs; {samples} samples after {samples} to warm up"));
        output.WriteLine($"{"cpu ms/sample",14} {"wall ms/sample",15} {"alloc KB/sample",16} {"alloc B/process",16}");
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{cpu.TotalMilliseconds / samples,14:0.000} {wall.Elapsed.TotalMilliseconds / samples,15:0.000} {allocated / samples / 1024.0,16:0.0} {allocated / samples / processes,16:0}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak RSS (VmHWM) of this process: {PeakResidentMegabytes():0.0} MB"));
        return ExitCodes.Success;
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
}
