using OtelPower.Sensors.Cgroups;

namespace OtelPower.Sensors.Tests.Cgroups;

public sealed class ContainerPathTests
{
    private const string Id = "4f1c2e9b0a7d6c5b4a3928170f6e5d4c3b2a19087f6e5d4c3b2a190876543210";
    private const string Uid = "0d8b2c4e-1f3a-4b5c-9d7e-2a4b6c8d0e1f";
    private const string UidUnderscored = "0d8b2c4e_1f3a_4b5c_9d7e_2a4b6c8d0e1f";

    [Theory]
    [InlineData("/docker/" + Id, "docker", null, null)]
    [InlineData("/system.slice/docker-" + Id + ".scope", "docker", null, null)]
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UidUnderscored + ".slice/cri-containerd-" + Id + ".scope", "containerd", Uid, "burstable")]
    [InlineData("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UidUnderscored + ".slice/crio-" + Id + ".scope", "cri-o", Uid, "besteffort")]
    [InlineData("/kubepods.slice/kubepods-pod" + UidUnderscored + ".slice/cri-containerd-" + Id + ".scope", "containerd", Uid, "guaranteed")]
    [InlineData("/kubepods/burstable/pod" + Uid + "/" + Id, "cri", Uid, "burstable")]
    [InlineData("/kubepods/pod" + Uid + "/" + Id, "cri", Uid, "guaranteed")]
    [InlineData("/kubepods/besteffort/pod" + Uid + "/" + Id, "cri", Uid, "besteffort")]
    [InlineData("/machine.slice/libpod-" + Id + ".scope", "podman", null, null)]
    [InlineData("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + Id + ".scope/container", "podman", null, null)]
    [InlineData("/system.slice/docker-" + Id + ".scope/init.scope", "docker", null, null)]
    [InlineData("/../../kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UidUnderscored + ".slice/cri-containerd-" + Id + ".scope", "containerd", Uid, "burstable")] // seen from inside a cgroup namespace
    public void Every_runtime_shape_yields_its_container(string path, string runtime, string? podUid, string? qos)
    {
        Assert.True(ContainerPath.TryParse(path, out var container));
        Assert.Equal(Id, container!.ContainerId);
        Assert.Equal(runtime, container.Runtime);
        Assert.Equal(podUid, container.PodUid);
        Assert.Equal(qos, container.QosClass);
        Assert.Equal(path, container.CgroupPath);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/user.slice/user-1000.slice/session-3.scope")]
    [InlineData("/system.slice/sshd.service")]
    [InlineData("/kubepods.slice/kubepods-burstable.slice")] // a QoS slice is not a container
    [InlineData("/docker/not-an-id")]
    [InlineData("/system.slice/docker-" + "abc" + ".scope")]
    [InlineData("/init.scope/" + Id)] // a bare id outside docker/kubepods is not trusted
    public void Host_cgroups_are_not_containers(string path) =>
        Assert.False(ContainerPath.TryParse(path, out _));
}
