using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;

namespace OtelPower.Sensors.Gpu;

/// <summary>
/// Reads every NVIDIA GPU through NVML as one energy pool each (issue 9).
/// </summary>
/// <remarks>
/// <para><b>Energy.</b> <c>nvmlDeviceGetTotalEnergyConsumption</c> (mJ since the driver loaded, Volta and
/// newer) times 1,000 is the pool's counter (<see cref="PoolEnergySource.Counter"/>). A GPU without it
/// (NOT_SUPPORTED, or an older driver that lacks the symbol) gets a counter integrated here from
/// <c>nvmlDeviceGetPowerUsage</c> by the trapezoid rule between consecutive readings on the injected clock,
/// exact in whole microjoules (<see cref="PoolEnergySource.Power"/>); its first reading, and its first after
/// a failure, is the baseline.</para>
/// <para><b>Usage.</b> Per process, the mean SM utilisation of the <c>nvmlDeviceGetProcessUtilization</c>
/// samples newer than the last one seen on that GPU (several samples per process cover the interval: their
/// mean, not their sum), in basis points (1 % = 100) against a capacity of 10,000. Processes NVML lists as
/// running (compute and graphics, once each) that have no sample get 0: nothing is invented.</para>
/// <para><b>MIG.</b> A GPU in MIG mode has no per-process utilisation; its energy is still one physical
/// counter. The rule: capacity = <c>nvmlDeviceGetMaxMigDeviceCount</c> slices x 10,000; each MIG device
/// (<c>nvmlDeviceGetMigDeviceHandleByIndex</c>) that has running processes weighs its slices x 10,000, split
/// equally among its processes by integer division (the remainder stays idle, as do instances without
/// processes and slices no instance holds). A MIG device's slices are its
/// <c>computeInstanceSliceCount</c> from <c>nvmlDeviceGetAttributes_v2</c>, which equals its
/// <c>gpuInstanceSliceCount</c> when the GPU instance holds one compute instance (the usual profiles);
/// when a GPU instance is split into several compute instances, each is one MIG device and counting the GPU
/// instance's slices for each would count it several times. A MIG device that reports 0 compute slices
/// falls back to its GPU-instance slices, and one without attributes to 1 slice.</para>
/// <para><b>Failures.</b> A GPU whose reading fails (GPU_IS_LOST after an XID, or any error on its energy)
/// is logged once, left out of <see cref="Read"/> and tried again after
/// <see cref="NvmlOptions.FailedGpuRetryInterval"/>; the other GPUs are read as usual, and its return is
/// logged once.</para>
/// </remarks>
public sealed partial class NvmlGpuReader : IEnergyPoolReader
{
    /// <summary>The usage that means a whole GPU busy: 100 % SM utilisation in basis points.</summary>
    public const ulong CapacityUnitsPerGpu = 10_000;

    private const uint BasisPointsPerPercent = 100;

    private readonly NvmlLibrary _nvml;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<NvmlGpuReader> _logger;
    private readonly TimeSpan _retryInterval;
    private readonly GpuState[] _gpus;
    private readonly RunningProcessList _runningProcesses = new();
    private readonly Dictionary<int, SmUtilisationSum> _utilisation = [];
    private readonly HashSet<int> _running = [];
    private readonly HashSet<int> _instanceProcesses = [];
    private readonly Dictionary<int, ulong> _migShares = [];
    private readonly List<int> _pids = [];
    private readonly Lock _gate = new();
    private NvmlProcessUtilizationSample[] _samples = new NvmlProcessUtilizationSample[256];
    private bool _disposed;

    private NvmlGpuReader(NvmlLibrary nvml, uint count, string? driverVersion, NvmlOptions options, TimeProvider timeProvider, ILogger<NvmlGpuReader> logger)
    {
        _nvml = nvml;
        _timeProvider = timeProvider;
        _logger = logger;
        _retryInterval = options.FailedGpuRetryInterval;
        DriverVersion = driverVersion;
        _gpus = new GpuState[count];
        for (var i = 0u; i < count; i++)
        {
            _gpus[i] = new GpuState(i);
        }
    }

    /// <summary>The driver version (<c>hw.driver_version</c>), when NVML says.</summary>
    public string? DriverVersion { get; }

    /// <summary>The GPUs NVML counted at start, working or not.</summary>
    public int GpuCount => _gpus.Length;

    /// <summary>
    /// Loads NVML and counts the GPUs. No library, no driver (nvmlInit fails) or no GPU: one information line,
    /// false, and GPUs are not measured. Never throws for what a host can be.
    /// </summary>
    public static bool TryOpen(NvmlOptions options, TimeProvider timeProvider, ILogger<NvmlGpuReader> logger, [NotNullWhen(true)] out NvmlGpuReader? reader)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        reader = null;
        if (!NvmlLibrary.TryLoad(options.LibraryPath, out var nvml, out var problem))
        {
            LogNoNvml(logger, problem);
            return false;
        }

        var init = nvml.Init();
        if (init != NvmlReturn.Success)
        {
            LogNoNvml(logger, $"{nvml.Path}: nvmlInit_v2 returned {init.Describe()}");
            nvml.Dispose();
            return false;
        }

        var countCode = nvml.GetDeviceCount(out var count);
        if (countCode != NvmlReturn.Success || count == 0)
        {
            LogNoNvml(logger, countCode == NvmlReturn.Success
                ? $"{nvml.Path}: NVML counts no GPU"
                : $"{nvml.Path}: nvmlDeviceGetCount_v2 returned {countCode.Describe()}");
            nvml.Shutdown();
            nvml.Dispose();
            return false;
        }

        var driverVersion = nvml.GetDriverVersion(out var version) == NvmlReturn.Success && version.Length > 0 ? version : null;
        reader = new NvmlGpuReader(nvml, count, driverVersion, options, timeProvider, logger);
        reader.Start();
        return true;
    }

    /// <inheritdoc />
    public ImmutableArray<EnergyPoolReading> Read()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return [];
            }

            var readings = ImmutableArray.CreateBuilder<EnergyPoolReading>(_gpus.Length);
            foreach (var gpu in _gpus)
            {
                var now = _timeProvider.GetTimestamp();
                if (gpu.Failing && _timeProvider.GetElapsedTime(gpu.LastAttemptTimestamp, now) < _retryInterval)
                {
                    continue;
                }

                var code = gpu.Failing || gpu.Device is null ? Attach(gpu) : NvmlReturn.Success;
                EnergyPoolReading? reading = null;
                if (code == NvmlReturn.Success)
                {
                    code = TryRead(gpu, now, out reading);
                }

                if (code == NvmlReturn.Success && reading is not null)
                {
                    if (gpu.Failing)
                    {
                        gpu.Failing = false;
                        LogGpuRecovered(_logger, gpu.Name, gpu.Uuid);
                    }

                    readings.Add(reading);
                }
                else
                {
                    Fail(gpu, code, now);
                }
            }

            return readings.DrainToImmutable();
        }
    }

    /// <summary>Shuts NVML down and unloads it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _nvml.Shutdown();
            _nvml.Dispose();
        }
    }

    private void Start()
    {
        if (!_nvml.MissingOptionalSymbols.IsEmpty)
        {
            LogMissingSymbols(_logger, _nvml.Path, string.Join(", ", _nvml.MissingOptionalSymbols));
        }

        var now = _timeProvider.GetTimestamp();
        foreach (var gpu in _gpus)
        {
            var code = Attach(gpu);
            if (code != NvmlReturn.Success)
            {
                Fail(gpu, code, now);
            }
        }

        var names = string.Join(", ", _gpus.Select(g => g.Device is { } device ? $"{device.Name} {device.Model} ({device.Id})" : $"{g.Name} (failing)"));
        LogOpened(_logger, _gpus.Length, _nvml.Path, DriverVersion ?? "unknown", names);
    }

    /// <summary>Gets the GPU's handle, UUID and name by its index; again on every retry, since a lost GPU's handle may be stale.</summary>
    private NvmlReturn Attach(GpuState gpu)
    {
        var code = _nvml.GetHandleByIndex(gpu.Index, out var handle);
        if (code != NvmlReturn.Success)
        {
            return code;
        }

        code = _nvml.GetUuid(handle, out var uuid);
        if (code != NvmlReturn.Success)
        {
            return code;
        }

        var model = _nvml.GetName(handle, out var name) == NvmlReturn.Success && name.Length > 0 ? name : null;
        gpu.Handle = handle;
        if (gpu.Device is null || !string.Equals(gpu.Device.Id, uuid, StringComparison.Ordinal))
        {
            // First sight, or another GPU now sits at this index: nothing carries over from the old one.
            gpu.Reset();
            gpu.Device = new PoolDevice(uuid, "gpu", (int)gpu.Index, gpu.Name, "nvidia", model);
        }

        return NvmlReturn.Success;
    }

    private void Fail(GpuState gpu, NvmlReturn code, long now)
    {
        gpu.LastAttemptTimestamp = now;
        gpu.PreviousPower = null; // the time it is out is not integrated
        if (!gpu.Failing)
        {
            gpu.Failing = true;
            LogGpuFailed(_logger, gpu.Name, gpu.Uuid, code.Describe(), _retryInterval.TotalSeconds);
        }
    }

    private NvmlReturn TryRead(GpuState gpu, long now, out EnergyPoolReading? reading)
    {
        reading = null;
        var device = gpu.Device!;
        var handle = gpu.Handle;

        ulong energyMicrojoules = 0;
        if (gpu.Mode != EnergyMode.Power)
        {
            var code = _nvml.GetTotalEnergyConsumption(handle, out var millijoules);
            if (code == NvmlReturn.Success)
            {
                gpu.Mode = EnergyMode.Counter;
                energyMicrojoules = millijoules * 1000;
            }
            else if (gpu.Mode == EnergyMode.Unknown && code is NvmlReturn.NotSupported or NvmlReturn.FunctionNotFound)
            {
                gpu.Mode = EnergyMode.Power;
                LogIntegratingPower(_logger, gpu.Name, gpu.Uuid, code.Describe());
            }
            else
            {
                return code;
            }
        }

        Power? power = null;
        var powerCode = _nvml.GetPowerUsage(handle, out var milliwatts);
        if (powerCode == NvmlReturn.Success)
        {
            power = new Power(milliwatts / 1000.0);
        }
        else if (gpu.Mode == EnergyMode.Power || IsDeviceFailure(powerCode))
        {
            return powerCode;
        }

        var migCode = _nvml.GetMigMode(handle, out var migMode, out _);
        if (IsDeviceFailure(migCode))
        {
            return migCode;
        }

        var mig = migCode == NvmlReturn.Success && migMode == 1;
        ulong capacity;
        ImmutableArray<PoolProcessUsage> usage;
        ulong lastSeen = gpu.LastSeenTimeStamp;
        NvmlReturn usageCode;
        if (mig)
        {
            if (!gpu.MigLogged)
            {
                gpu.MigLogged = true;
                LogMig(_logger, gpu.Name, gpu.Uuid);
            }

            usageCode = ReadMigUsage(handle, out capacity, out usage);
        }
        else
        {
            capacity = CapacityUnitsPerGpu;
            usageCode = ReadUsage(gpu, handle, ref lastSeen, out usage);
        }

        if (usageCode != NvmlReturn.Success)
        {
            return usageCode;
        }

        var statisticsCode = ReadStatistics(handle, out var statistics);
        if (statisticsCode != NvmlReturn.Success)
        {
            return statisticsCode;
        }

        if (gpu.Mode == EnergyMode.Power)
        {
            energyMicrojoules = gpu.Integrate(milliwatts, now, _timeProvider.TimestampFrequency);
        }

        gpu.LastSeenTimeStamp = lastSeen;
        var source = gpu.Mode == EnergyMode.Counter ? PoolEnergySource.Counter : PoolEnergySource.Power;
        reading = new EnergyPoolReading(device, source, energyMicrojoules, maxEnergyRangeMicrojoules: 0, capacity, usage, power, statistics);
        return NvmlReturn.Success;
    }

    /// <summary>Mean SM utilisation per PID over the samples since the last seen, plus running processes at 0.</summary>
    private NvmlReturn ReadUsage(GpuState gpu, nint handle, ref ulong lastSeen, out ImmutableArray<PoolProcessUsage> usage)
    {
        usage = [];
        _utilisation.Clear();
        _running.Clear();
        if (_nvml.HasProcessUtilization && !gpu.ProcessUtilisationOff)
        {
            var code = ReadSamples(handle, ref lastSeen);
            if (code is NvmlReturn.NotSupported)
            {
                gpu.ProcessUtilisationOff = true;
                LogNoProcessUtilisation(_logger, gpu.Name, gpu.Uuid, code.Describe());
            }
            else if (IsDeviceFailure(code))
            {
                return code;
            }
        }

        var running = ReadRunning(handle);
        if (running != NvmlReturn.Success)
        {
            return running;
        }

        _pids.Clear();
        _pids.AddRange(_utilisation.Keys);
        foreach (var pid in _running)
        {
            if (!_utilisation.ContainsKey(pid))
            {
                _pids.Add(pid);
            }
        }

        _pids.Sort();
        var builder = ImmutableArray.CreateBuilder<PoolProcessUsage>(_pids.Count);
        foreach (var pid in _pids)
        {
            builder.Add(new PoolProcessUsage(pid, _utilisation.TryGetValue(pid, out var sum) ? sum.MeanBasisPoints : 0));
        }

        usage = builder.MoveToImmutable();
        return NvmlReturn.Success;
    }

    /// <summary>
    /// The samples newer than <paramref name="lastSeen"/>, summed per PID into <see cref="_utilisation"/>;
    /// <paramref name="lastSeen"/> moves to the newest. NOT_FOUND (nothing new) is success with no samples.
    /// </summary>
    private NvmlReturn ReadSamples(nint handle, ref ulong lastSeen)
    {
        var code = _nvml.GetProcessUtilization(handle, [], out var count, lastSeen);
        for (var attempt = 0; attempt < 4 && code == NvmlReturn.InsufficientSize; attempt++)
        {
            if (_samples.Length < count)
            {
                _samples = new NvmlProcessUtilizationSample[Math.Max(count + 16, (uint)_samples.Length * 2)];
            }

            code = _nvml.GetProcessUtilization(handle, _samples, out count, lastSeen);
            if (code != NvmlReturn.Success)
            {
                continue;
            }

            var newest = lastSeen;
            foreach (ref readonly var sample in _samples.AsSpan(0, (int)Math.Min(count, (uint)_samples.Length)))
            {
                // NVML filters by lastSeenTimeStamp itself; filtering again keeps a sample from counting twice.
                if (sample.TimeStamp <= lastSeen || sample.Pid is 0 or > int.MaxValue)
                {
                    continue;
                }

                ref var sum = ref CollectionsMarshal.GetValueRefOrAddDefault(_utilisation, (int)sample.Pid, out _);
                sum = sum.Add(Math.Min(sample.SmUtil, 100u));
                newest = Math.Max(newest, sample.TimeStamp);
            }

            lastSeen = newest;
        }

        return code is NvmlReturn.NotFound ? NvmlReturn.Success : code;
    }

    /// <summary>Compute and graphics processes into <see cref="_running"/>, once each.</summary>
    private NvmlReturn ReadRunning(nint handle)
    {
        foreach (var graphics in (ReadOnlySpan<bool>)[false, true])
        {
            var code = _runningProcesses.Read(_nvml, handle, graphics, _running);
            if (IsDeviceFailure(code))
            {
                return code;
            }
        }

        return NvmlReturn.Success;
    }

    /// <summary>The MIG rule of the type's remarks.</summary>
    private NvmlReturn ReadMigUsage(nint handle, out ulong capacity, out ImmutableArray<PoolProcessUsage> usage)
    {
        usage = [];
        capacity = CapacityUnitsPerGpu;
        var code = _nvml.GetMaxMigDeviceCount(handle, out var maxDevices);
        if (code != NvmlReturn.Success)
        {
            return IsDeviceFailure(code) ? code : NvmlReturn.Success;
        }

        capacity = Math.Max(1u, maxDevices) * CapacityUnitsPerGpu;
        _migShares.Clear();
        for (var i = 0u; i < maxDevices; i++)
        {
            code = _nvml.GetMigDeviceHandleByIndex(handle, i, out var migDevice);
            if (IsDeviceFailure(code))
            {
                return code;
            }

            if (code != NvmlReturn.Success)
            {
                continue; // NOT_FOUND: no MIG device at this index
            }

            _running.Clear();
            code = ReadRunning(migDevice);
            if (code != NvmlReturn.Success)
            {
                return code;
            }

            if (_running.Count == 0)
            {
                continue;
            }

            var slices = 1u;
            code = _nvml.GetAttributes(migDevice, out var attributes);
            if (IsDeviceFailure(code))
            {
                return code;
            }

            if (code == NvmlReturn.Success)
            {
                slices = attributes.ComputeInstanceSliceCount > 0 ? attributes.ComputeInstanceSliceCount
                    : attributes.GpuInstanceSliceCount > 0 ? attributes.GpuInstanceSliceCount
                    : 1u;
            }

            var share = slices * CapacityUnitsPerGpu / (ulong)_running.Count;
            foreach (var pid in _running)
            {
                ref var units = ref CollectionsMarshal.GetValueRefOrAddDefault(_migShares, pid, out _);
                units += share;
            }
        }

        _pids.Clear();
        _pids.AddRange(_migShares.Keys);
        _pids.Sort();
        var builder = ImmutableArray.CreateBuilder<PoolProcessUsage>(_pids.Count);
        foreach (var pid in _pids)
        {
            builder.Add(new PoolProcessUsage(pid, _migShares[pid]));
        }

        usage = builder.MoveToImmutable();
        return NvmlReturn.Success;
    }

    private NvmlReturn ReadStatistics(nint handle, out GpuStatistics statistics)
    {
        statistics = new GpuStatistics(null, null, null);
        var utilisationCode = _nvml.GetUtilizationRates(handle, out var utilisation);
        if (IsDeviceFailure(utilisationCode))
        {
            return utilisationCode;
        }

        var memoryCode = _nvml.GetMemoryInfo(handle, out var memory);
        if (IsDeviceFailure(memoryCode))
        {
            return memoryCode;
        }

        var hasMemory = memoryCode == NvmlReturn.Success;
        statistics = new GpuStatistics(
            utilisationCode == NvmlReturn.Success ? Math.Min(utilisation.Gpu, 100u) / 100.0 : null,
            hasMemory ? (long)Math.Min(memory.Used, long.MaxValue) : null,
            hasMemory ? (long)Math.Min(memory.Total, long.MaxValue) : null);
        return NvmlReturn.Success;
    }

    /// <summary>Codes that say the GPU itself is gone or NVML is unusable, rather than one feature missing.</summary>
    private static bool IsDeviceFailure(NvmlReturn code) =>
        code is NvmlReturn.GpuIsLost or NvmlReturn.GpuNotFound or NvmlReturn.Uninitialized or NvmlReturn.DriverNotLoaded or NvmlReturn.Unknown;

    [LoggerMessage(Level = LogLevel.Information, Message = "No NVIDIA driver/library ({Reason}): GPUs are not measured.")]
    private static partial void LogNoNvml(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reading {Count} NVIDIA GPUs through {Library} (driver {DriverVersion}): {Gpus}")]
    private static partial void LogOpened(ILogger logger, int count, string library, string driverVersion, string gpus);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Library} lacks {Symbols} (an older driver): those features are off.")]
    private static partial void LogMissingSymbols(ILogger logger, string library, string symbols);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Gpu} ({Uuid}) has no energy counter ({Code}): integrating its power readings (source=power).")]
    private static partial void LogIntegratingPower(ILogger logger, string gpu, string uuid, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Gpu} ({Uuid}) reports no per-process utilisation ({Code}): its processes get usage 0 and its energy counts as idle.")]
    private static partial void LogNoProcessUtilisation(ILogger logger, string gpu, string uuid, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Gpu} ({Uuid}) is in MIG mode: its energy is divided among MIG instances by their slices, then equally among each instance's processes.")]
    private static partial void LogMig(ILogger logger, string gpu, string uuid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Gpu} ({Uuid}) failed: {Code}. It is left out of the GPU pools and tried again every {RetrySeconds} s.")]
    private static partial void LogGpuFailed(ILogger logger, string gpu, string uuid, string code, double retrySeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Gpu} ({Uuid}) reads again.")]
    private static partial void LogGpuRecovered(ILogger logger, string gpu, string uuid);

    private enum EnergyMode
    {
        Unknown,
        Counter,
        Power,
    }

    /// <summary>Sum and count of one process's SM-utilisation samples in percent.</summary>
    private readonly record struct SmUtilisationSum(ulong Percent, uint Samples)
    {
        public SmUtilisationSum Add(uint percent) => new(Percent + percent, Samples + 1);

        /// <summary>The mean in basis points, rounded to the nearest.</summary>
        public ulong MeanBasisPoints => Samples == 0 ? 0 : ((Percent * BasisPointsPerPercent) + (Samples / 2)) / Samples;
    }

    /// <summary>What the reader keeps per NVML index between readings.</summary>
    private sealed class GpuState(uint index)
    {
        public uint Index { get; } = index;

        public string Name { get; } = "gpu-" + index.ToString(CultureInfo.InvariantCulture);

        public string Uuid => Device?.Id ?? "uuid unknown";

        public nint Handle { get; set; }

        public PoolDevice? Device { get; set; }

        public EnergyMode Mode { get; set; }

        /// <summary>The newest process-utilisation sample seen (µs, NVML's clock).</summary>
        public ulong LastSeenTimeStamp { get; set; }

        public bool ProcessUtilisationOff { get; set; }

        public bool MigLogged { get; set; }

        public bool Failing { get; set; }

        public long LastAttemptTimestamp { get; set; }

        /// <summary>The previous power reading (mW) and its timestamp; null before the first and after a failure.</summary>
        public (uint Milliwatts, long Timestamp)? PreviousPower { get; set; }

        /// <summary>Σ (P0 + P1) x Δt over every segment, in mW x timestamp ticks; µJ = this x 1000 / (2 x frequency), kept exact.</summary>
        private UInt128 IntegratedMilliwattTicks { get; set; }

        /// <summary>Adds the trapezoid since the previous reading and returns the cumulative µJ.</summary>
        public ulong Integrate(uint milliwatts, long timestamp, long frequency)
        {
            if (PreviousPower is { } previous && timestamp > previous.Timestamp)
            {
                IntegratedMilliwattTicks += ((UInt128)previous.Milliwatts + milliwatts) * (ulong)(timestamp - previous.Timestamp);
            }

            PreviousPower = (milliwatts, timestamp);
            return (ulong)(IntegratedMilliwattTicks * 1000 / (2 * (UInt128)(ulong)frequency));
        }

        public void Reset()
        {
            Mode = EnergyMode.Unknown;
            LastSeenTimeStamp = 0;
            ProcessUtilisationOff = false;
            MigLogged = false;
            PreviousPower = null;
            IntegratedMilliwattTicks = 0;
        }
    }
}
