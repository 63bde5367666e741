using OtelPower.Sensors.Vms;

namespace OtelPower.Sensors.Tests.Vms;

public sealed class VmCgroupPathTests
{
    [Theory]
    [InlineData(@"/machine.slice/machine-qemu\x2d1\x2dweb.scope", @"/machine.slice/machine-qemu\x2d1\x2dweb.scope", "web")]
    [InlineData(@"/machine.slice/machine-qemu\x2d12\x2dweb\x2d01.scope/libvirt/emulator", @"/machine.slice/machine-qemu\x2d12\x2dweb\x2d01.scope", "web-01")]
    [InlineData(@"/machine.slice/machine-qemu\x2d3\x2ddb\x2eprod.scope/libvirt/vcpu7", @"/machine.slice/machine-qemu\x2d3\x2ddb\x2eprod.scope", "db.prod")]
    [InlineData("/machine/qemu-4-legacy.libvirt-qemu", "/machine/qemu-4-legacy.libvirt-qemu", "legacy")]
    [InlineData("/machine/qemu-5-a-b.libvirt-qemu/vcpu0", "/machine/qemu-5-a-b.libvirt-qemu", "a-b")]
    public void Libvirt_scopes_name_the_vm_and_everything_below_belongs_to_it(string path, string scope, string name)
    {
        Assert.True(VmCgroupPath.TryParse(path, out var parsedScope, out var parsedName));
        Assert.Equal(scope, parsedScope);
        Assert.Equal(name, parsedName);
    }

    [Theory]
    [InlineData("/machine.slice/libpod-0123.scope")]
    [InlineData("/machine.slice")]
    [InlineData(@"/machine.slice/machine-lxc\x2d1\x2dbox.scope")]
    [InlineData("/system.slice/libvirtd.service")]
    [InlineData("/")]
    public void Other_cgroups_are_not_vms(string path) => Assert.False(VmCgroupPath.TryParse(path, out _, out _));

    [Theory]
    [InlineData(@"qemu\x2d1\x2dweb", "qemu-1-web")]
    [InlineData(@"caf\xc3\xa9", "café")]
    [InlineData(@"plain", "plain")]
    [InlineData(@"trailing\x2", @"trailing\x2")]
    public void Systemd_escapes_are_decoded_as_utf8_bytes(string escaped, string expected) =>
        Assert.Equal(expected, VmCgroupPath.UnescapeSystemd(escaped));
}
