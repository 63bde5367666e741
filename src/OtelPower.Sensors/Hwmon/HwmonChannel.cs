namespace OtelPower.Sensors.Hwmon;

/// <summary>What an hwmon channel measures: a cumulative counter or an instantaneous (or averaged) power.</summary>
internal enum HwmonQuantity
{
    /// <summary><c>energyN_input</c> in microjoules, a counter.</summary>
    Energy,

    /// <summary><c>powerN_average</c> or <c>powerN_input</c> in microwatts, integrated over time by the reader.</summary>
    Power,
}

/// <summary>Which pool a channel feeds.</summary>
internal enum HwmonRole
{
    /// <summary>Not used (a rail inside another reading, a sensor we do not know); listed in the log only.</summary>
    Other,

    /// <summary>CPU power where RAPL is absent: the CPU pool, divided by CPU time (source hwmon).</summary>
    Cpu,

    /// <summary>A GPU's board power or energy: a GPU pool.</summary>
    Gpu,

    /// <summary>Whole-node power (the ACPI power meter): the platform pool.</summary>
    Platform,
}

/// <summary>One usable channel of one hwmon chip.</summary>
/// <param name="Id">Stable on the host: <c>hwmon3:power1</c>.</param>
/// <param name="ChipName">The chip's <c>name</c> (or its directory name when it has none).</param>
/// <param name="Quantity">Energy counter or power.</param>
/// <param name="Index">N of <c>powerN_*</c> / <c>energyN_*</c>.</param>
/// <param name="File">The file read each sample.</param>
/// <param name="Label">The channel's <c>*_label</c> (or the Grace <c>powerN_oem_info</c>), when it has one.</param>
/// <param name="Role">The pool it feeds.</param>
/// <param name="PciAddress">The PCI address of the chip's <c>device</c> (a GPU), when it has one.</param>
internal sealed record HwmonChannel(string Id, string ChipName, HwmonQuantity Quantity, int Index, string File, string? Label, HwmonRole Role, string? PciAddress);
