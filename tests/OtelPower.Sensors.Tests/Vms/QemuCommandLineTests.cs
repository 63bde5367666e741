using System.Text;
using OtelPower.Sensors.Vms;

namespace OtelPower.Sensors.Tests.Vms;

public sealed class QemuCommandLineTests
{
    [Theory]
    [InlineData("qemu-system-x86", "qemu-system-x86_64", true)]
    [InlineData("CPU 0/KVM", "qemu-kvm", true)]
    [InlineData("kvm", "kvm", true)]
    [InlineData("qemu-system-aar", "unknown", true)]
    [InlineData("bash", "bash", false)]
    [InlineData("qemu-img", "qemu-img", false)]
    [InlineData("kvm-pit/1234", "kvm-pit/1234", false)]
    public void Qemu_is_recognised_by_exe_or_comm(string comm, string exe, bool expected) =>
        Assert.Equal(expected, QemuCommandLine.LooksLikeQemu(comm, exe));

    [Theory]
    [InlineData("/usr/bin/qemu-system-x86_64|-name|guest=web-01,debug-threads=on|-S|-uuid|6f1b0c2e-0d6a-4b8e-9a55-1c3f2e4d5a6b", "web-01", "6f1b0c2e-0d6a-4b8e-9a55-1c3f2e4d5a6b")]
    [InlineData("/usr/libexec/qemu-kvm|-name|db|-m|4096", "db", null)]
    [InlineData("kvm|-uuid|0e7d|-name|process=x,guest=odd,,name", "odd,name", "0e7d")]
    [InlineData("/usr/bin/qemu-system-aarch64|-m|512", null, null)]
    [InlineData("/usr/bin/qemu-system-x86_64|-name", null, null)]
    public void Name_and_uuid_come_from_the_arguments(string arguments, string? name, string? uuid)
    {
        Assert.True(QemuCommandLine.TryParse(Encoding.UTF8.GetBytes(arguments.Replace('|', '\0') + "\0"), out var parsedName, out var parsedUuid));
        Assert.Equal(name, parsedName);
        Assert.Equal(uuid, parsedUuid);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/usr/bin/python3|-name|guest=fake")]
    public void Not_qemu_is_refused(string arguments) =>
        Assert.False(QemuCommandLine.TryParse(Encoding.UTF8.GetBytes(arguments.Replace('|', '\0')), out _, out _));
}
