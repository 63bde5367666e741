using OtelPower.Testing;

namespace OtelPower.Agent.Tests;

/// <summary>
/// A small host the exporter tests drive step by step: one package with dram, two busy processes, 400
/// host ticks a step. Each step adds exactly 12 J of host energy, 3 J to "web" and 1.5 J to "db".
/// </summary>
internal sealed class HostScenario : IDisposable
{
    public const double HostJoulesPerStep = 12.0;
    public const double WebJoulesPerStep = 3.0;
    public const double DbJoulesPerStep = 1.5;
    public const double IdleJoulesPerStep = 7.5;

    private readonly TemporaryDirectory _directory = new();
    private ulong _package = 1_000_000, _dram = 500_000, _busy = 1_000, _total = 10_000, _web = 100, _db = 200;

    public HostScenario()
    {
        Tree = new SyntheticHostTree(_directory.Path);
        Tree.WriteZone("intel-rapl:0", "package-0", _package);
        Tree.WriteZone("intel-rapl:0:0", "dram", _dram);
        Tree.WriteZone("intel-rapl:0:1", "core", 0);
        Tree.WriteCpu(_busy, _total - _busy, cpuCount: 4);
        Tree.WriteProcess(100, "web", _web, startTicks: 10);
        Tree.WriteProcess(200, "db", _db, startTicks: 20);
    }

    public SyntheticHostTree Tree { get; }

    public int Steps { get; private set; }

    public string[] AgentArguments(params string[] more) =>
        ["--procfs", Tree.Procfs, "--sysfs", Tree.Sysfs, "--cgroupfs", Tree.Cgroupfs, "--interval", "0.5", .. more];

    public void Step()
    {
        Tree.BeginStep();
        Tree.WriteEnergy("intel-rapl:0", _package += 10_000_000);
        Tree.WriteEnergy("intel-rapl:0:0", _dram += 2_000_000);
        _total += 400;
        _busy += 150;
        Tree.WriteCpu(_busy, _total - _busy, cpuCount: 4);
        Tree.WriteProcess(100, "web", _web += 100, startTicks: 10);
        Tree.WriteProcess(200, "db", _db += 50, startTicks: 20);
        Tree.CommitStep();
        Steps++;
    }

    /// <summary>
    /// Steps the host <paramref name="steps"/> times, each time waiting for the JSON line whose host energy
    /// shows it. A step is committed at once, but the agent resolves the tree's link on each file it opens, so
    /// one sample can read some files before a step and others after it: out of process, only cumulative
    /// totals and conservation are exact, not how the joules of one interval split between processes.
    /// </summary>
    public async Task StepWithAgentAsync(AgentProcess agent, int steps)
    {
        if (Steps == 0)
        {
            await agent.ReadLineAsync(TimeSpan.FromSeconds(30)); // the baseline is taken: no step can hide in it
        }

        for (var i = 0; i < steps; i++)
        {
            Step();
            await agent.ReadUntilHostEnergyAsync(Steps * HostJoulesPerStep);
        }
    }

    public void Dispose() => _directory.Dispose();
}
