using System.Globalization;
using BenchmarkDotNet.Running;
using Dataflow.Bench.Bdn;
using Dataflow.Bench.Report;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench;

/// <summary>
/// dotnet run -c Release --project bench/Dataflow.Bench -- report [--quick|--smoke] [--json &lt;path&gt;]
/// dotnet run -c Release --project bench/Dataflow.Bench -- bdn [BenchmarkDotNet arguments]
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage:
          report [--quick|--smoke] [--json <path>] [--case <name,...>]
                                                     every case (or the named ones) beside its baseline, as a table (and JSON)
          bdn [BenchmarkDotNet arguments]            BenchmarkDotNet suites for the same cases, e.g. bdn --filter '*Fanout*'
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "bdn")
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..], BenchConfig.Create());
            return 0;
        }

        if (args.Length == 4 && args[0] == "worker")
        {
            // A worker process of the scaleout.workers case (ScaleoutWorkload), started by the report itself.
            return await Workloads.ScaleoutWorkload.RunWorkerAsync(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture));
        }

        if (args.Length == 0 || args[0] != "report")
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var size = BenchSize.Full;
        string? json = null;
        HashSet<string>? only = null;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    size = BenchSize.Quick;
                    break;
                case "--smoke":
                    size = BenchSize.Smoke;
                    break;
                case "--json" when i + 1 < args.Length:
                    json = args[++i];
                    break;
                case "--case" when i + 1 < args.Length:
                    only = [.. args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'");
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }

        return await ReportCommand.RunAsync(size, json, only);
    }
}
