namespace OtelPower.Attribution.Pools;

/// <summary>
/// The whole-node meter (ACPI power meter, Redfish) as a pool with no per-process usage (issue 14): its energy
/// is the host's, and what the measured pools do not explain is the node's other energy (disks, NICs, fans,
/// power-supply losses).
/// </summary>
/// <remarks>
/// Per interval: other = platform - CPU pool (packages + dram, or the estimate) - every GPU pool, never below
/// zero (the meters sample at different instants, and a BMC reading lags). The platform pool's
/// <see cref="PoolDevice.Name"/> names the meter (<c>acpi_power_meter</c>, <c>redfish</c>).
/// </remarks>
public static class PlatformPool
{
    /// <summary>The <c>hw.type</c> of the platform pool.</summary>
    public const string Type = "platform";

    /// <summary>The one device id of the platform pool.</summary>
    public const string Id = "platform";

    public static bool IsPlatform(PoolDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return string.Equals(device.Type, Type, StringComparison.Ordinal);
    }
}
