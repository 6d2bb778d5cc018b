using System.Globalization;
using Dataflow.Graphs;
using Dataflow.Npgsql;
using Dataflow.Npgsql.Jobs;
using Dataflow.Npgsql.Tests.Worker;

// Usage: worker submit <connection string> <job> <count>
//          enqueues Item 0..count-1 and prints "queued <count>".
//        worker run <connection string> <job> <side file> <lease ms> <in flight>
//          prints "ready", works until the job is done, then prints "done <done> <failed> <taken over>".
// A job whose name starts with "fan" runs Bundle, a durable fan-out (five pieces per bundle), instead of Item.
var fan = args[2].StartsWith("fan", StringComparison.Ordinal);
var options = new GraphOptions { Durable = true, MaxRunsInFlight = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 64 };
var graph = fan ? Graph.Create<Bundle>(options) : Graph.Create<Item>(options);
await using var queue = await JobQueue.OpenAsync(args[1]);
if (args[0] == "submit")
{
    var count = int.Parse(args[3], CultureInfo.InvariantCulture);
    Console.Out.WriteLine($"queued {await queue.SubmitAsync(args[2], graph, Enumerable.Range(0, count).Select(i => fan ? (INode)new Bundle(i) : new Item(i)))}");
    return 0;
}

using var side = new StreamWriter(args[3], append: true) { AutoFlush = true };
SideFile.Writer = side;
await using var store = await PostgresSessionStore.OpenAsync(args[1]);
await using var worker = new Worker(queue, store, graph, new WorkerOptions
{
    Job = args[2],
    Lease = TimeSpan.FromMilliseconds(int.Parse(args[4], CultureInfo.InvariantCulture)),
    PollInterval = TimeSpan.FromMilliseconds(100),
    OnError = e => Console.Error.WriteLine(e.Message),
});
Console.Out.WriteLine("ready");
var summary = await worker.RunAsync();
Console.Out.WriteLine($"done {summary.Done} {summary.Failed} {summary.TakenOver}");
return 0;
