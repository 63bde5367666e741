using System.Collections.Immutable;
using OtelPower.Attribution.Pools;

namespace OtelPower.Sensors;

/// <summary>
/// Reads the energy pools of one kind of device (NVIDIA GPUs through NVML today). A new kind of device is
/// a new implementation; the sampler and the engine do not change.
/// </summary>
public interface IEnergyPoolReader : IDisposable
{
    /// <summary>
    /// Reads every device of this kind that works now. Never throws: a device that fails is logged once,
    /// left out (the ledger carries its last reading forward) and tried again later.
    /// </summary>
    ImmutableArray<EnergyPoolReading> Read();
}
