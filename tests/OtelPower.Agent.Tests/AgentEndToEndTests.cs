using System.Globalization;
using System.Text.Json;
using OtelPower.Testing;

namespace OtelPower.Agent.Tests;

/// <summary>
/// Runs the built agent on a synthetic host that the test advances between samples, and checks what the
/// JSON lines must say whatever the timing: cumulative counters, bounds, names, exit codes.
/// </summary>
public sealed class AgentEndToEndTests
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Json_lines_carry_the_host_counters_and_the_process_names()
    {
        using var directory = new TemporaryDirectory();
        var tree = new SyntheticHostTree(directory.Path);
        const ulong max = SyntheticHostTree.PackageRangeMicrojoules;
        ulong package = max - 15_000_000, dram = 1_000_000, core = 0, psys = 0, busy = 10_000, total = 50_000;
        tree.WriteZone("intel-rapl:0", "package-0", package);
        tree.WriteZone("intel-rapl:0:0", "dram", dram);
        tree.WriteZone("intel-rapl:0:1", "core", core);
        tree.WriteZone("intel-rapl:1", "psys", psys);
        tree.WriteCpu(busy, total - busy, cpuCount: 4);
        ulong web = 1_000, db = 2_000, newbie = 1_000;
        tree.WriteProcess(100, "web server", web, startTicks: 10);
        tree.WriteProcess(200, "db)", db, startTicks: 20);
        tree.WriteProcess(300, "idler", 5, startTicks: 30);

        await using var agent = AgentProcess.Start(
            ["--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--cgroupfs", "", "--exporter", "json", "--interval", "0.5"]);

        void Advance(int step)
        {
            // Each step: 10 J package (wrapping in step 2), 2 J dram, 6 J core and 20 J psys (neither added),
            // 400 host ticks of which web uses 100 and db 50 while they live.
            tree.BeginStep();
            package = (package + 10_000_000) % max;
            dram += 2_000_000;
            core += 6_000_000;
            psys += 20_000_000;
            tree.WriteEnergy("intel-rapl:0", package);
            tree.WriteEnergy("intel-rapl:0:0", dram);
            tree.WriteEnergy("intel-rapl:0:1", core);
            tree.WriteEnergy("intel-rapl:1", psys);
            total += 400;
            busy += 150;
            tree.WriteCpu(busy, total - busy, cpuCount: 4);
            tree.WriteProcess(100, "web server", web += 100, startTicks: 10);
            switch (step)
            {
                case 1:
                    tree.WriteProcess(200, "db)", db += 50, startTicks: 20);
                    break;
                case 2:
                    tree.WriteProcess(200, "db)", db += 50, startTicks: 20);
                    tree.WriteProcess(400, "newbie", newbie, startTicks: 40); // counts from its next sample
                    break;
                case 3:
                    tree.RemoveProcess(200); // exited: its last interval's CPU time is no live process's
                    tree.WriteProcess(400, "newbie", newbie += 40, startTicks: 40);
                    break;
                case 4:
                    tree.WriteProcess(200, "reused", 5_000, startTicks: 90); // a new process with an old pid
                    tree.WriteProcess(400, "newbie", newbie += 40, startTicks: 40);
                    break;
            }

            tree.CommitStep();
        }

        // lines[k]: the line that first shows step k's host energy (the next step waits for it).
        await agent.ReadLineAsync(LineTimeout); // the baseline is taken: no step can hide in it
        var lines = new List<JsonElement>();
        for (var k = 1; k <= 4; k++)
        {
            Advance(k);
            lines.Add(await agent.ReadUntilHostEnergyAsync(12.0 * k, LineTimeout));
        }

        // Only what holds however the agent's timer falls against the steps (a sample may read one file of a
        // step before the step and the next after it): cumulative counters, conservation bounds, names.
        // The exact per-interval books are checked in-process: SamplingServiceTests.Each_interval_carries_...
        Assert.Equal([12.0, 24, 36, 48], lines.Select(Host));
        var last = lines[^1];
        var zones = last.GetProperty("zones").EnumerateArray().ToDictionary(z => z.GetProperty("name").GetString()!);
        Assert.Equal(40.0, zones["package-0"].GetProperty("energy_j").GetDouble()); // wrapped in step 2, counted exactly
        Assert.Equal(8.0, zones["dram-0"].GetProperty("energy_j").GetDouble());
        Assert.Equal(24.0, zones["core-0"].GetProperty("energy_j").GetDouble());
        Assert.Equal(80.0, zones["psys"].GetProperty("energy_j").GetDouble());
        Assert.Equal("intel-rapl:0", zones["core-0"].GetProperty("parent").GetString());
        foreach (var line in lines)
        {
            var idle = line.GetProperty("idle").GetProperty("energy_j").GetDouble();
            Assert.InRange(idle, 0, Host(line) + 1e-9);
            Assert.All(line.GetProperty("processes").EnumerateArray(), p => Assert.InRange(p.GetProperty("energy_j").GetDouble(), 0, Host(line) - idle + 1e-9));
        }

        var comms = lines.SelectMany(l => l.GetProperty("processes").EnumerateArray()).Select(p => p.GetProperty("comm").GetString()).ToHashSet();
        Assert.Contains("web server", comms);
        Assert.Contains("db)", comms);
        Assert.DoesNotContain("idler", comms); // used no CPU: never listed
        Assert.All(lines, l => Assert.Equal("rapl", l.GetProperty("source").GetString()));
    }

    [Fact]
    public async Task Without_rapl_the_estimator_runs_and_says_so()
    {
        using var directory = new TemporaryDirectory();
        var tree = new SyntheticHostTree(directory.Path);
        tree.WriteCpu(busyTicks: 0, idleTicks: 10_000, cpuCount: 4);

        var (exitCode, stdout, stderr) = await AgentProcess.RunAsync(
            "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--exporter", "json", "--interval", "0.3", "--samples", "2");

        Assert.Equal(0, exitCode);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Equal("estimate", l.GetProperty("source").GetString()));

        // An idle host of 4 CPUs at the default 0.74 W per CPU.
        Assert.Equal(2.96, lines[1].GetProperty("host").GetProperty("power_w").GetDouble(), 1e-2);
        Assert.Contains(tree.Sysfs, stderr, StringComparison.Ordinal);
        Assert.Contains("estimat", stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Unreadable_energy_file_is_named_and_the_estimator_takes_over()
    {
        using var directory = new TemporaryDirectory();
        var tree = new SyntheticHostTree(directory.Path);
        tree.WriteCpu(busyTicks: 0, idleTicks: 10_000, cpuCount: 2);
        tree.WriteZone("intel-rapl:0", "package-0", 1_000);
        var energyFile = Path.Combine(tree.Sysfs, "class", "powercap", "intel-rapl:0", "energy_uj"); // through the current link

        // Tests run as root, for whom chmod denies nothing; .NET reports a directory as access denied,
        // the same error a non-root reader of energy_uj gets since CVE-2020-8694.
        File.Delete(energyFile);
        Directory.CreateDirectory(energyFile);

        var (exitCode, stdout, stderr) = await AgentProcess.RunAsync(
            "--procfs", tree.Procfs, "--sysfs", tree.Sysfs, "--exporter", "json", "--interval", "0.2", "--samples", "1");

        Assert.Equal(0, exitCode);
        Assert.Contains(energyFile, stderr, StringComparison.Ordinal);
        Assert.Equal("estimate", JsonDocument.Parse(stdout.Trim()).RootElement.GetProperty("source").GetString());
    }

    [Theory]
    [InlineData("--interval", "0")]
    [InlineData("--exporter", "smoke-signals")]
    [InlineData("--bogus", "1")]
    public async Task Bad_input_exits_2_with_a_message(string option, string value)
    {
        var (exitCode, stdout, stderr) = await AgentProcess.RunAsync(option, value);
        Assert.Equal(2, exitCode);
        Assert.Contains(option, stderr, StringComparison.Ordinal);
        Assert.Empty(stdout.Trim());
    }

    [Fact]
    public async Task Missing_procfs_exits_2_naming_the_path()
    {
        using var directory = new TemporaryDirectory();
        var missing = Path.Combine(directory.Path, "no-such-proc");
        var (exitCode, _, stderr) = await AgentProcess.RunAsync("--procfs", missing, "--samples", "1");
        Assert.Equal(2, exitCode);
        Assert.Contains(missing, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_exits_0_and_lists_the_options()
    {
        var (exitCode, stdout, _) = await AgentProcess.RunAsync("--help");
        Assert.Equal(0, exitCode);
        Assert.Contains("--procfs", stdout, StringComparison.Ordinal);
        Assert.Contains("--include-cmdline", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--frobnicate" }, "otelpower: Unrecognized command or argument '--frobnicate'.")]
    [InlineData(new[] { "--interval", "fast" }, "otelpower: --interval expects a number (e.g. 0.5), not 'fast'.")]
    [InlineData(new[] { "--samples", "1", "--procfs" }, "otelpower: --procfs needs a value (PATH).")]
    [InlineData(new[] { "bench", "--processes", "10" }, "otelpower: Unrecognized command or argument '--processes'.")]
    public async Task Bad_command_line_exits_2_naming_the_option_and_writes_nothing_to_stdout(string[] args, string message)
    {
        var (exitCode, stdout, stderr) = await AgentProcess.RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, stderr.Split('\n').Select(l => l.TrimEnd()));
        Assert.Contains("Run 'otelpower --help' for usage.", stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task The_built_agent_answers_the_suggest_directive()
    {
        const string Line = "otelpower --exporter p";
        var (exitCode, stdout, _) = await AgentProcess.RunAsync($"[suggest:{Line.Length}]", Line);

        Assert.Equal(0, exitCode);
        Assert.Equal(["prometheus", "otlp"], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task Bench_measures_samples_of_the_given_host_and_exits_0()
    {
        using var host = new HostScenario();
        var (exitCode, stdout, stderr) = await AgentProcess.RunAsync(
            "bench", "--procfs", host.Tree.Procfs, "--sysfs", host.Tree.Sysfs, "--cgroupfs", "", "--nvml-library", "", "--iterations", "3");

        Assert.True(exitCode == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("otelpower bench: 2 processes, 0 containers, 0 other pools, source rapl,", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("3 samples after 3 to warm up", lines[0].TrimEnd(), StringComparison.Ordinal);
        var figures = lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(4, figures.Length);
        Assert.All(figures, f => Assert.True(f >= 0));
        Assert.True(figures[1] > 0, "a sample takes some wall time");
        Assert.StartsWith("peak RSS (VmHWM) of this process: ", lines[3], StringComparison.Ordinal);
    }

    private static double Host(JsonElement line) => line.GetProperty("host").GetProperty("energy_j").GetDouble();
}

/// <summary>The console exporter and configuration from the environment, on the built agent.</summary>
public sealed class AgentConsoleAndConfigurationTests
{
    [Fact]
    public async Task Console_view_shows_source_host_zones_and_top_processes()
    {
        using var host = new HostScenario();
        await using var agent = AgentProcess.Start(host.AgentArguments("--exporter", "console", "--samples", "3", "--top", "1"));
        using var stop = new CancellationTokenSource();
        var busy = Task.Run(async () =>
        {
            // A busy host: web uses twice db's CPU in every interval.
            while (!stop.IsCancellationRequested)
            {
                host.Step();
                await Task.Delay(100);
            }
        });
        var text = await agent.ReadToEndAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await busy;

        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("source: rapl (measured)", text, StringComparison.Ordinal);
        Assert.Contains("package-0", text, StringComparison.Ordinal);
        Assert.Contains("dram-0", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", text, StringComparison.Ordinal); // no redraw codes into a pipe
        var blocks = text.Split("OtelPower ", StringSplitOptions.RemoveEmptyEntries);
        // --samples 3: one block per interval, unless the console fell behind and skipped to the newest (and said so).
        var skipped = System.Text.RegularExpressions.Regex.Matches(agent.StandardError, "skipped ([0-9]+) snapshots").Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(3, blocks.Length + skipped);
        Assert.Contains(blocks, b => b.Contains(" web ", StringComparison.Ordinal)); // the top process by power...
        Assert.All(blocks, b => Assert.DoesNotContain(" db ", b, StringComparison.Ordinal)); // ...and only it (--top 1)
    }

    [Fact]
    public async Task Environment_values_are_validated_like_options()
    {
        await using var agent = AgentProcess.Start(["--samples", "1"], new Dictionary<string, string> { ["OTELPOWER_INTERVAL"] = "0" });
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--interval", agent.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Taken_prometheus_port_is_a_clear_error_not_a_crash()
    {
        using var host = new HostScenario();
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var agent = AgentProcess.Start(host.AgentArguments("--exporter", "prometheus", "--prometheus-port", port));
        Assert.Equal(1, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("could not start", agent.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("prometheus")]
    [InlineData("otlp")]
    public async Task Instrumentation_options_the_sdk_cannot_hold_are_bad_input_naming_the_section(string exporter)
    {
        // Checked when the host builds the MeterProvider at start, after the sampler: still exit 2 with the
        // reason, not a crash, and not the endpoint's second dispose hiding it (it used to say "The
        // CancellationTokenSource has been disposed").
        using var host = new HostScenario();
        await using var agent = AgentProcess.Start(
            host.AgentArguments("--exporter", exporter, "--prometheus-port", "0", "--otlp-endpoint", "http://127.0.0.1:9"),
            new Dictionary<string, string> { ["OTELPOWER_OtelPower__Instrumentation__CardinalityLimit"] = "50" });

        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("otelpower: Configuration: OtelPower:Instrumentation: CardinalityLimit (50) must exceed", agent.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("disposed", agent.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", agent.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_finite_run_with_the_prometheus_endpoint_exits_0()
    {
        // The container disposes the endpoint twice (singleton and hosted service); the second dispose used
        // to throw at exit and turn a finished run into "could not start" and exit 1.
        using var host = new HostScenario();
        await using var agent = AgentProcess.Start(host.AgentArguments("--exporter", "json,prometheus", "--prometheus-port", "0", "--samples", "2"));

        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("could not start", agent.StandardError, StringComparison.Ordinal);
    }
}
