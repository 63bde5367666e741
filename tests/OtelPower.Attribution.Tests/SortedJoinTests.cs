namespace OtelPower.Attribution.Tests;

public sealed class SortedJoinTests
{
    [Fact]
    public void Processes_match_by_identity_object_or_by_key_and_the_rest_are_new()
    {
        var one = Process(1, 100);
        var two = Process(2, 200);
        var twoAgain = Process(2, 200); // the same process, its identity made apart: matched by key
        var three = Process(3, 300);
        var reusedThree = Process(3, 999); // pid 3 reused: a new process
        var four = Process(4, 400);

        ProcessCpuReading[] before = [new(one, 1), new(two, 2), new(three, 3), new(four, 4)];
        ProcessCpuReading[] now = [new(one, 5), new(twoAgain, 6), new(reusedThree, 7), new(four, 8), new(Process(9, 900), 9)];
        var matches = new int[now.Length];

        SortedJoin.MatchProcesses<ProcessCpuReading, ProcessCpuReading>(before, now, matches);

        Assert.Equal([0, 1, -1, 3, -1], matches);
    }

    [Fact]
    public void A_process_that_exited_between_two_matches_is_stepped_over()
    {
        var one = Process(1, 100);
        var five = Process(5, 500);
        ProcessCpuReading[] before = [new(one, 1), new(Process(2, 200), 2), new(Process(3, 300), 3), new(five, 5)];
        ProcessCpuReading[] now = [new(one, 1), new(five, 6)];
        var matches = new int[now.Length];

        SortedJoin.MatchProcesses<ProcessCpuReading, ProcessCpuReading>(before, now, matches);

        Assert.Equal([0, 3], matches);
    }

    [Fact]
    public void Empty_lists_match_nothing()
    {
        var matches = new int[1];
        SortedJoin.MatchProcesses<ProcessCpuReading, ProcessCpuReading>([], [new(Process(1, 1), 1)], matches);
        Assert.Equal([-1], matches);
        SortedJoin.MatchProcesses<ProcessCpuReading, ProcessCpuReading>([new(Process(1, 1), 1)], [], []);
    }

    private static ProcessIdentity Process(int pid, ulong start) => new(new ProcessKey(pid, start), "p" + pid, "p" + pid, null, isKernelThread: false);
}
