using OtelPower.Agent.Telemetry;

namespace OtelPower.Agent.Tests.Telemetry;

public sealed class AgentResourceTests
{
    [Fact]
    public void The_instance_hash_is_fnv1a_128()
    {
        // Test vectors of the FNV specification (draft-eastlake-fnv): the offset basis for no input, and "a".
        Assert.Equal(new UInt128(0x6c62272e07bb0142, 0x62b821756295c58d), AgentResource.Fnv1a128([]));
        Assert.Equal(new UInt128(0xd228cb696f1a8caf, 0x78912b704e4a8964), AgentResource.Fnv1a128("a"u8));
    }

    [Fact]
    public void The_instance_id_is_stable_per_machine_and_node_and_random_without_a_machine_id()
    {
        var id = AgentResource.InstanceId("3d1219c7c4c5404aaa1f6d2a48adfda4", "node-a");
        Assert.Equal(id, AgentResource.InstanceId("3d1219c7c4c5404aaa1f6d2a48adfda4", "node-a"));
        Assert.True(Guid.TryParse(id, out _), id);
        Assert.NotEqual(id, AgentResource.InstanceId("3d1219c7c4c5404aaa1f6d2a48adfda4", "node-b"));
        Assert.NotEqual(id, AgentResource.InstanceId("4d1219c7c4c5404aaa1f6d2a48adfda4", "node-a"));
        Assert.NotEqual(AgentResource.InstanceId(null, "node-a"), AgentResource.InstanceId(null, "node-a"));
    }
}
