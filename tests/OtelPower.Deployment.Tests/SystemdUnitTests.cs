using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace OtelPower.Deployment.Tests;

/// <summary>
/// packaging/otelpower.service: the hardening the agent keeps (read by hand here), then the unit as
/// systemd itself parses it (<c>systemd-analyze verify</c> and <c>security --offline</c>) where
/// systemd-analyze is installed; .ci/run installs Debian's systemd package for it.
/// </summary>
public sealed partial class SystemdUnitTests(ITestOutputHelper output)
{
    private const string Binary = "/usr/local/bin/otelpower";

    private static string UnitPath => RepositoryRoot.Combine("packaging", "otelpower.service");

    private static readonly Lazy<IReadOnlyList<(string Section, string Key, string Value)>> Directives = new(() => Parse(File.ReadAllLines(UnitPath)));

    private static string? SystemdAnalyze =>
        new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);

    private static string Single(string key)
    {
        var values = Directives.Value.Where(d => d.Section == "Service" && d.Key == key).Select(d => d.Value).ToList();
        return Assert.Single(values);
    }

    [Theory]
    [InlineData("ProtectSystem", "strict")]
    [InlineData("NoNewPrivileges", "yes")]
    [InlineData("PrivateTmp", "yes")]
    [InlineData("ProtectHome", "yes")]
    [InlineData("ProtectKernelTunables", "yes")]
    [InlineData("ProtectControlGroups", "yes")]
    [InlineData("User", "root")]
    public void The_service_is_hardened(string key, string value)
    {
        Assert.Equal(value, Single(key));
    }

    [Fact]
    public void Root_holds_no_capability_at_all()
    {
        // Root owns energy_uj (mode 0400, CVE-2020-8694): uid 0 reads it with an empty bounding set.
        Assert.Equal("", Single("CapabilityBoundingSet"));
        Assert.Equal("", Single("AmbientCapabilities"));
    }

    [Fact]
    public void Proc_and_sys_are_read_only()
    {
        Assert.Equal(["/proc", "/sys"], Single("ReadOnlyPaths").Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Directives.Value, d => d.Key == "ReadWritePaths");
    }

    [Theory]
    [InlineData("ProtectProc")]
    [InlineData("ProcSubset")]
    [InlineData("PrivateUsers")]
    [InlineData("MemoryDenyWriteExecute")]
    [InlineData("DynamicUser")]
    public void Nothing_hides_processes_or_powercap_from_the_agent(string key)
    {
        // ProtectProc/ProcSubset hide other processes and /proc/stat; PrivateUsers and DynamicUser make
        // energy_uj unreadable; MemoryDenyWriteExecute stops the .NET JIT.
        Assert.DoesNotContain(Directives.Value, d => d.Key == key);
    }

    [Fact]
    public void Exec_start_runs_the_published_binary_with_defaults_the_environment_file_can_change()
    {
        // Arguments would win over OTELPOWER_ variables, so the defaults are variables too, and
        // EnvironmentFile= (optional: "-") overrides Environment=.
        Assert.Equal(Binary, Single("ExecStart"));
        Assert.StartsWith("-", Single("EnvironmentFile"), StringComparison.Ordinal);
        var defaults = Single("Environment").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(v => v.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
        Assert.Equal("otlp,prometheus", defaults["OTELPOWER_EXPORTER"]);
        Assert.All(defaults.Keys, k => Assert.StartsWith("OTELPOWER_", k, StringComparison.Ordinal));
        Assert.Equal("2", Single("RestartPreventExitStatus"));
    }

    [Fact]
    public void Systemd_accepts_the_unit_and_rates_its_exposure_at_most_3()
    {
        if (SystemdAnalyze is not { } analyze)
        {
            output.WriteLine("systemd-analyze is not installed: only the static checks above ran (apt-get install systemd; .ci/run does).");
            return;
        }

        using var directory = new UnitDirectory(File.ReadAllText(UnitPath));

        var verify = Run(analyze, "verify", directory.UnitPath);
        Assert.True(verify.ExitCode == 0 && verify.Error.Length == 0, $"systemd-analyze verify ({verify.ExitCode}): {verify.Error}{verify.Output}");

        // Exposure is shown 0.0 to 10.0; the threshold is in tenths.
        var security = Run(analyze, "security", "--offline=yes", "--threshold=30", directory.UnitPath);
        Assert.True(security.ExitCode == 0, $"systemd-analyze security: {ExposureLine().Match(security.Output).Value} {security.Error}");
    }

    [Fact]
    public void Verification_catches_a_misspelt_directive()
    {
        if (SystemdAnalyze is not { } analyze)
        {
            output.WriteLine("systemd-analyze is not installed: nothing to check.");
            return;
        }

        using var directory = new UnitDirectory(File.ReadAllText(UnitPath).Replace("NoNewPrivileges=", "NoNewPrivilege=", StringComparison.Ordinal));

        var verify = Run(analyze, "verify", directory.UnitPath);
        Assert.Contains("Unknown key 'NoNewPrivilege'", verify.Error, StringComparison.Ordinal);
    }

    private static List<(string Section, string Key, string Value)> Parse(string[] lines)
    {
        var directives = new List<(string, string, string)>();
        var section = "";
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                section = line.Trim('[', ']');
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            Assert.True(equals > 0, $"not a directive: {line}");
            directives.Add((section, line[..equals].Trim(), line[(equals + 1)..].Trim()));
        }

        return directives;
    }

    private static CommandResult Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "systemd-analyze ran over 60 s");
        return new CommandResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    [GeneratedRegex("Overall exposure level.*")]
    private static partial Regex ExposureLine();

    /// <summary>
    /// The unit in a temporary folder, its ExecStart pointed at a stand-in executable there: verify
    /// checks that the command exists, and no test machine has the agent at /usr/local/bin.
    /// </summary>
    private sealed class UnitDirectory : IDisposable
    {
        private readonly string _path = Directory.CreateTempSubdirectory("otelpower-unit-").FullName;

        public UnitDirectory(string unit)
        {
            var standIn = Path.Combine(_path, "otelpower");
            File.WriteAllText(standIn, "#!/bin/sh\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(standIn, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            UnitPath = Path.Combine(_path, "otelpower.service");
            File.WriteAllText(UnitPath, unit.Replace($"ExecStart={Binary}", $"ExecStart={standIn}", StringComparison.Ordinal));
        }

        public string UnitPath { get; }

        public void Dispose() => Directory.Delete(_path, recursive: true);
    }
}
