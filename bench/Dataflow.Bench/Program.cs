namespace Dataflow.Bench;

internal static class Program
{
    public static int Main(string[] args)
    {
        Console.WriteLine("usage: report [--quick|--smoke] [--json <path>] | bdn [BenchmarkDotNet args]");
        return args.Length == 0 ? 2 : 0;
    }
}
