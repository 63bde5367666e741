namespace OtelPower.Sensors.Powercap;

/// <summary>Why a zone's counter could not be read.</summary>
internal enum ZoneReadError
{
    None,

    /// <summary>energy_uj is root-only since CVE-2020-8694 (Platypus).</summary>
    PermissionDenied,
    Missing,
    Malformed,
    Failed,
}
