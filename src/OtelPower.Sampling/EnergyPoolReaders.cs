using OtelPower.Sensors;

namespace OtelPower.Sampling;

/// <summary>
/// The device pool readers (GPUs, a platform meter) the sampler reads beside the CPU. Registered in the
/// services, <c>AddPowerSampling</c>'s sampler reads them; they are disposed with the host (NVML is shut down).
/// </summary>
public sealed class EnergyPoolReaders : IDisposable
{
    public EnergyPoolReaders(IReadOnlyList<IEnergyPoolReader> readers)
    {
        ArgumentNullException.ThrowIfNull(readers);
        Readers = readers;
    }

    public IReadOnlyList<IEnergyPoolReader> Readers { get; }

    public void Dispose()
    {
        foreach (var reader in Readers)
        {
            reader.Dispose();
        }
    }
}
