using OtelPower.Sensors.Cgroups;

namespace OtelPower.Sensors.Tests.Cgroups;

public sealed class CgroupCpuReaderTests
{
    private const string Live = "4f1c2e9b0a7d6c5b4a3928170f6e5d4c3b2a19087f6e5d4c3b2a190876543210";

    [Fact]
    public void Cgroup_v2_containers_are_found_with_their_usage()
    {
        using var fixture = new FixtureCopy("cgroup-v2");
        var reader = new CgroupCpuReader(fixture.Root);
        var containers = reader.Read();

        Assert.Equal("v2", reader.Version);
        Assert.Equal(
            new Dictionary<string, ulong>
            {
                [new string('b', 64)] = 1_200_000,
                [Live] = 7_500_000,
                [new string('d', 64)] = 300_000,
                [new string('e', 64)] = 42,
            },
            containers.ToDictionary(c => c.ContainerId, c => c.CpuMicroseconds));
        Assert.Equal(containers.Select(c => c.ContainerId).Order(StringComparer.Ordinal), containers.Select(c => c.ContainerId)); // sorted for the engine
    }

    [Fact]
    public void Container_whose_processes_all_exited_is_still_measured()
    {
        using var fixture = new FixtureCopy("cgroup-v2");
        var exited = new CgroupCpuReader(fixture.Root).Read().Single(c => c.ContainerId == new string('b', 64));
        Assert.Equal(1_200_000UL, exited.CpuMicroseconds);
        Assert.Equal("0d8b2c4e-1f3a-4b5c-9d7e-2a4b6c8d0e1f", exited.Container.PodUid);
        Assert.Equal("burstable", exited.Container.QosClass);
    }

    [Fact]
    public void Nested_cgroups_count_inside_their_container_not_beside_it()
    {
        using var fixture = new FixtureCopy("cgroup-v2");
        var docker = new CgroupCpuReader(fixture.Root).Read().Where(c => c.Container.Runtime == "docker").ToArray();
        Assert.Equal(300_000UL, Assert.Single(docker).CpuMicroseconds); // the scope, not its init.scope child
    }

    [Fact]
    public void Cgroup_v1_uses_cpuacct_in_nanoseconds()
    {
        using var fixture = new FixtureCopy("cgroup-v1");
        var reader = new CgroupCpuReader(fixture.Root);
        var containers = reader.Read();

        Assert.Equal("v1", reader.Version);
        Assert.Equal(7_500_000UL, containers.Single(c => c.ContainerId == Live).CpuMicroseconds);
        Assert.Equal("cri", containers.Single(c => c.ContainerId == Live).Container.Runtime);
        Assert.Equal(300_000UL, containers.Single(c => c.Container.Runtime == "docker").CpuMicroseconds);
    }

    [Fact]
    public void Missing_cgroup_root_reads_nothing()
    {
        var reader = new CgroupCpuReader(Path.Combine(Path.GetTempPath(), "no-cgroups-" + Guid.NewGuid()));
        Assert.False(reader.IsAvailable);
        Assert.Empty(reader.Read());
    }
}

public sealed class HybridCgroupTests
{
    [Fact]
    public void Hybrid_hosts_account_cpu_on_the_v1_hierarchy()
    {
        using var fixture = new FixtureCopy("cgroup-hybrid");
        var reader = new CgroupCpuReader(fixture.Root);
        var container = Assert.Single(reader.Read());

        Assert.Equal("v1", reader.Version); // cgroup.controllers lives under unified/, not at the root
        Assert.Equal(2_500_000UL, container.CpuMicroseconds);
        Assert.Equal("besteffort", container.Container.QosClass);
        Assert.Equal("containerd", container.Container.Runtime);
    }
}
