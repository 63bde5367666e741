using OtelPower.Sensors.Procfs;

namespace OtelPower.Sensors.Tests;

public sealed class ProcfsReaderTests
{
    [Fact]
    public void Every_well_formed_process_is_read_and_the_rest_skipped()
    {
        using var fixture = new FixtureCopy("two-socket");
        var processes = new ProcfsReader(fixture.Procfs, includeCommandLine: false).ReadProcesses();

        // 104 has a malformed stat line, 105 vanished (no stat file), "self" and "sys" are not pids.
        Assert.Equal([1, 2, 50, 100, 101, 102, 103, 200, 201], processes.Select(p => p.Key.Pid));
        var app = processes.Single(p => p.Key.Pid == 100);
        Assert.Equal("my app (v2)", app.Process.Comm);
        Assert.Equal("my-app", app.Process.ExecutableName);
        Assert.Equal(400UL, app.CpuTicks);
        Assert.Equal(1000UL, app.Key.StartTicks);
        Assert.Equal(") R 1 2 3 (", processes.Single(p => p.Key.Pid == 101).Process.Comm);
        Assert.Equal("two\nlines", processes.Single(p => p.Key.Pid == 102).Process.Comm);
        Assert.Equal("two\nlines", processes.Single(p => p.Key.Pid == 102).Process.ExecutableName); // no exe link: comm
        Assert.Equal("replaced", processes.Single(p => p.Key.Pid == 103).Process.ExecutableName); // " (deleted)" stripped
    }

    [Fact]
    public void Kernel_threads_are_marked_and_named_by_comm()
    {
        using var fixture = new FixtureCopy("two-socket");
        var processes = new ProcfsReader(fixture.Procfs, includeCommandLine: false).ReadProcesses();
        Assert.True(processes.Single(p => p.Key.Pid == 2).Process.IsKernelThread);
        Assert.Equal("kworker/0:1-events", processes.Single(p => p.Key.Pid == 50).Process.ExecutableName);
        Assert.True(processes.Single(p => p.Key.Pid == 50).Process.IsKernelThread);
        Assert.False(processes.Single(p => p.Key.Pid == 1).Process.IsKernelThread);
    }

    [Fact]
    public void Command_lines_are_not_read_unless_opted_in()
    {
        using var fixture = new FixtureCopy("two-socket");
        var withheld = new ProcfsReader(fixture.Procfs, includeCommandLine: false).ReadProcesses();
        Assert.All(withheld, p => Assert.Null(p.Process.CommandLine));

        var opted = new ProcfsReader(fixture.Procfs, includeCommandLine: true).ReadProcesses();
        Assert.Equal("secretive --password=hunter2 --token abc", opted.Single(p => p.Key.Pid == 201).Process.CommandLine);
    }

    [Fact]
    public void A_process_that_exits_is_dropped_and_its_identity_freed()
    {
        using var fixture = new FixtureCopy("two-socket");
        var reader = new ProcfsReader(fixture.Procfs, includeCommandLine: false);
        Assert.Contains(reader.ReadProcesses(), p => p.Key.Pid == 201);
        Directory.Delete(fixture.Path_("proc", "201"), recursive: true);

        Assert.DoesNotContain(reader.ReadProcesses(), p => p.Key.Pid == 201);
        Assert.Equal(8, reader.CachedProcessCount);
    }

    [Fact]
    public void Reused_pid_is_a_new_process_with_a_fresh_identity()
    {
        using var fixture = new FixtureCopy("two-socket");
        var reader = new ProcfsReader(fixture.Procfs, includeCommandLine: false);
        var before = reader.ReadProcesses().Single(p => p.Key.Pid == 100);

        var stat = File.ReadAllText(fixture.Path_("proc", "100", "stat")).Replace("(my app (v2))", "(newcomer)").Replace(" 1000 10485760", " 5555 10485760");
        fixture.Write("proc/100/stat", stat);
        File.Delete(fixture.Path_("proc", "100", "exe"));
        var after = reader.ReadProcesses().Single(p => p.Key.Pid == 100);

        Assert.NotEqual(before.Key, after.Key);
        Assert.Equal(5555UL, after.Key.StartTicks);
        Assert.Equal("newcomer", after.Process.Comm);
        Assert.Equal("newcomer", after.Process.ExecutableName);
    }

    [Fact]
    public void Identity_is_read_once_per_process_lifetime()
    {
        using var fixture = new FixtureCopy("two-socket");
        var reader = new ProcfsReader(fixture.Procfs, includeCommandLine: false);
        var first = reader.ReadProcesses().Single(p => p.Key.Pid == 100);
        File.Delete(fixture.Path_("proc", "100", "exe")); // a later exe change is not re-read for the same process
        var second = reader.ReadProcesses().Single(p => p.Key.Pid == 100);
        Assert.Same(first.Process, second.Process);
    }

    [Fact]
    public void Containers_come_from_the_process_cgroup()
    {
        using var fixture = new FixtureCopy("two-socket");
        var processes = new ProcfsReader(fixture.Procfs, includeCommandLine: false).ReadProcesses();
        var nginx = processes.Single(p => p.Key.Pid == 200).Process.Container;
        Assert.NotNull(nginx);
        Assert.Equal("4f1c2e9b0a7d6c5b4a3928170f6e5d4c3b2a19087f6e5d4c3b2a190876543210", nginx.ContainerId);
        Assert.Equal("0d8b2c4e-1f3a-4b5c-9d7e-2a4b6c8d0e1f", nginx.PodUid);
        Assert.Equal("containerd", nginx.Runtime);
        Assert.Null(processes.Single(p => p.Key.Pid == 100).Process.Container);
    }

    [Fact]
    public void Cpu_times_and_count_come_from_proc_stat()
    {
        using var fixture = new FixtureCopy("two-socket");
        var (times, cpus) = new ProcfsReader(fixture.Procfs, includeCommandLine: false).ReadCpu();
        Assert.Equal(10_000UL, times.TotalTicks);
        Assert.Equal(4, cpus);
    }

    [Fact]
    public void A_listing_longer_than_one_directory_batch_is_read_whole_and_sorted()
    {
        // 3,000 pids take about three getdents64 batches of the reader's 32 KiB buffer.
        using var fixture = new FixtureCopy("two-socket");
        var pids = Enumerable.Range(10_000, 3_000).ToList();
        foreach (var pid in pids)
        {
            Directory.CreateDirectory(fixture.Path_("proc", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            fixture.Write($"proc/{pid}/stat", $"{pid} (worker) S 1 1 1 0 -1 0 0 0 0 0 {pid % 7} 1 0 0 20 0 1 0 {pid} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
        }

        var processes = new ProcfsReader(fixture.Procfs, includeCommandLine: false).ReadProcesses();

        Assert.Equal([1, 2, 50, 100, 101, 102, 103, 200, 201, .. pids], processes.Select(p => p.Key.Pid));
        Assert.Equal((ulong)((12_345 % 7) + 1), processes.Single(p => p.Key.Pid == 12_345).CpuTicks);
    }

    [Fact]
    public void One_reader_follows_a_process_count_that_grows_stays_and_shrinks()
    {
        // The reader sizes each sample's array by the previous sample's count: every case of that guess is read exactly.
        using var fixture = new FixtureCopy("two-socket");
        var reader = new ProcfsReader(fixture.Procfs, includeCommandLine: false);
        int[] fixturePids = [1, 2, 50, 100, 101, 102, 103, 200, 201];
        Assert.Equal(fixturePids, reader.ReadProcesses().Select(p => p.Key.Pid));

        var added = Enumerable.Range(5_000, 40).ToList();
        foreach (var pid in added)
        {
            Directory.CreateDirectory(fixture.Path_("proc", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            fixture.Write($"proc/{pid}/stat", $"{pid} (worker) S 1 1 1 0 -1 0 0 0 0 0 {pid % 5} 2 0 0 20 0 1 0 {pid} 0 0\n");
        }

        for (var sample = 0; sample < 2; sample++)
        {
            var grown = reader.ReadProcesses();
            Assert.Equal([.. fixturePids, .. added], grown.Select(p => p.Key.Pid));
            Assert.Equal((ulong)((5_013 % 5) + 2), grown.Single(p => p.Key.Pid == 5_013).CpuTicks);
        }

        foreach (var pid in added.Skip(3))
        {
            Directory.Delete(fixture.Path_("proc", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)), recursive: true);
        }

        var shrunk = reader.ReadProcesses();
        Assert.Equal([.. fixturePids, 5_000, 5_001, 5_002], shrunk.Select(p => p.Key.Pid));
        Assert.Equal(12, shrunk.Length);
        Assert.Equal(12, reader.CachedProcessCount);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("4194304", 4194304)]
    [InlineData("2147483647", int.MaxValue)]
    [InlineData("2147483648", null)]
    [InlineData("99999999999", null)]
    [InlineData("", null)]
    [InlineData("self", null)]
    [InlineData("12a", null)]
    [InlineData("-1", null)]
    public void Only_names_of_ascii_digits_within_int_range_are_pids(string name, int? pid)
    {
        var parsed = ProcfsReader.TryParsePid(System.Text.Encoding.UTF8.GetBytes(name), out var value);
        Assert.Equal(pid is not null, parsed);
        Assert.Equal(pid ?? 0, value);
    }

    [Fact]
    public void A_pid_directory_named_past_int_range_is_skipped_not_fatal()
    {
        using var fixture = new FixtureCopy("two-socket");
        Directory.CreateDirectory(fixture.Path_("proc", "2147483648"));
        fixture.Write("proc/2147483648/stat", "2147483648 (huge) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");

        Assert.Equal(9, new ProcfsReader(fixture.Procfs, includeCommandLine: false).ReadProcesses().Length);
    }

    [Fact]
    public void A_procfs_root_that_vanishes_fails_the_sample_naming_the_root()
    {
        using var fixture = new FixtureCopy("two-socket");
        var reader = new ProcfsReader(fixture.Procfs, includeCommandLine: false);
        Assert.NotEmpty(reader.ReadProcesses());
        Directory.Delete(fixture.Procfs, recursive: true);

        var failure = Assert.Throws<DirectoryNotFoundException>(() => reader.ReadProcesses());
        Assert.Contains(fixture.Procfs, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_procfs_root_that_is_a_file_fails_the_sample_naming_the_root()
    {
        using var fixture = new FixtureCopy("two-socket");
        var file = fixture.Path_("proc", "stat");

        var failure = Assert.Throws<IOException>(() => new ProcfsReader(file, includeCommandLine: false).ReadProcesses());
        Assert.Contains(file, failure.Message, StringComparison.Ordinal);
        Assert.Contains("directory", failure.Message, StringComparison.OrdinalIgnoreCase); // ENOTDIR: "Not a directory"
    }
}

public sealed class UptimeTests
{
    [Theory]
    [InlineData("12345.67 54321.00\n", 1_234_567UL)]
    [InlineData("0.01 0.00", 1UL)]
    [InlineData("garbage\n", 0UL)]
    [InlineData("", 0UL)]
    public void Uptime_is_read_in_clock_ticks_and_a_malformed_file_is_unknown(string contents, ulong ticks)
    {
        using var fixture = new FixtureCopy("two-socket");
        fixture.Write("proc/uptime", contents);

        Assert.Equal(ticks, new ProcfsReader(fixture.Procfs, includeCommandLine: false).ReadUptimeTicks(100));
    }

    [Fact]
    public void A_tree_without_uptime_reads_as_unknown()
    {
        using var fixture = new FixtureCopy("two-socket");

        Assert.Equal(0UL, new ProcfsReader(fixture.Procfs, includeCommandLine: false).ReadUptimeTicks(100));
    }
}
