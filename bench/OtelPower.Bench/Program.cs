using System.Globalization;
using BenchmarkDotNet.Running;
using OtelPower.Bench;

// sample [--processes N]... [--iterations N]   CPU, allocations and peak RSS of one sample, in this process
// micro [BenchmarkDotNet arguments]            the same sample under BenchmarkDotNet
// tree --processes N DIR                       writes the synthetic host tree compare.sh runs both agents on
const string Usage = "usage: OtelPower.Bench sample [--processes N]... [--iterations N] | micro [BenchmarkDotNet args] | tree --processes N DIR";
switch (args)
{
    case [] or ["sample", ..]:
        return SampleCostBenchmark.Run(args.Skip(1).ToArray(), Console.Out, Console.Error);
    case ["micro", .. var rest]:
        BenchmarkRunner.Run<SampleBenchmarks>(args: rest);
        return 0;
    case ["tree", "--processes", var count, var directory] when int.TryParse(count, CultureInfo.InvariantCulture, out var processes) && processes > 0:
        var tree = BenchHost.Write(Path.GetFullPath(directory), processes, withPeerFiles: true);
        Console.Out.WriteLine(tree.Procfs);
        Console.Out.WriteLine(tree.Sysfs);
        return 0;
    default:
        Console.Error.WriteLine(Usage);
        return 2;
}
