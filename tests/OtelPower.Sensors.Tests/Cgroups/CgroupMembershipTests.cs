using OtelPower.Sensors.Cgroups;

namespace OtelPower.Sensors.Tests.Cgroups;

public sealed class CgroupMembershipTests
{
    [Fact]
    public void Cgroup_v2_has_one_unified_line()
    {
        Assert.True(CgroupMembership.TryParse("0::/system.slice/docker-abc.scope\n", out var membership));
        Assert.Equal("/system.slice/docker-abc.scope", membership!.UnifiedPath);
        Assert.Equal("/system.slice/docker-abc.scope", membership.ContainerLookupPath);
    }

    [Fact]
    public void Cgroup_v1_uses_the_cpuacct_hierarchy()
    {
        const string text = "12:pids:/kubepods/pod1/abc\n4:cpu,cpuacct:/kubepods/burstable/pod1/abc\n1:name=systemd:/kubepods/burstable/pod1/abc\n";
        Assert.True(CgroupMembership.TryParse(text, out var membership));
        Assert.Null(membership!.UnifiedPath);
        Assert.Equal("/kubepods/burstable/pod1/abc", membership.CpuAcctPath);
        Assert.Equal("/kubepods/burstable/pod1/abc", membership.ContainerLookupPath);
    }

    [Fact]
    public void Hybrid_host_with_an_empty_unified_path_falls_back_to_v1()
    {
        const string text = "5:cpuacct,cpu:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n";
        Assert.True(CgroupMembership.TryParse(text, out var membership));
        Assert.Equal("/", membership!.UnifiedPath);
        Assert.Equal("/docker/abc", membership.ContainerLookupPath);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("0:nopath")]
    [InlineData("x:y:relative/path")]
    public void Malformed_text_is_rejected(string text) => Assert.False(CgroupMembership.TryParse(text, out _));
}
