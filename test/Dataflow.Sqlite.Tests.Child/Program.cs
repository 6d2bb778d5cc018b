using Dataflow.Sqlite;
using Dataflow.Sqlite.Tests.Child;

// Usage: child <db path> <rows> <tag> [then]
//   Writes <rows> entries with content "<tag> row <i>", flushes, prints "flushed <session id>".
//   then = "exit":  exits 0 once stdin closes (or a line arrives).
//   then = "write": keeps writing unflushed "<tag> extra <i>" rows until it is killed.
// Usage: child durable run|resume <db path> <count> <side file>: see DurableChild.
// Usage: child fanout run|resume <db path> <parents> <side file> [hold after lines]: see FanOutChild.
// Usage: child read <db path>  -> "read <entries>" through a SessionHistory, or "error <type> <directory read-only>".
//        child open <db path>  -> "opened" through a SessionStore, or "error <type> <directory read-only>".
if (args.Length >= 5 && args[0] == "fanout")
{
    return await FanOutChild.RunAsync(args[1..]);
}

if (args.Length >= 5 && args[0] == "durable")
{
    return await DurableChild.RunAsync(args[1..]);
}

if (args.Length == 2 && args[0] is "read" or "open")
{
    try
    {
        if (args[0] == "read")
        {
            using var history = SessionHistory.Open(args[1]);
            Console.Out.WriteLine($"read {history.Recent(1000).Count}");
        }
        else
        {
            await using var opened = new SessionStore(args[1]);
            Console.Out.WriteLine("opened");
        }
    }
    catch (StoreException e)
    {
        Console.Out.WriteLine($"error {e.GetType().Name} {(e as StoreReadOnlyException)?.DirectoryIsReadOnly}");
        Console.Error.WriteLine(e.Message);
    }

    return 0;
}

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: child <db path> <rows> <tag> [exit|write]");
    return 2;
}

var path = args[0];
var rows = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var tag = args[2];
var then = args.Length > 3 ? args[3] : "exit";
var store = new SessionStore(path, new SessionStoreOptions { BatchSize = 64 });
for (var i = 0; i < rows; i++)
{
    await store.RecordAsync("CHILD", "child", "output", $"{tag} row {i}");
}

await store.FlushAsync();
Console.Out.WriteLine($"flushed {store.SessionId}");
Console.Out.Flush();
if (then == "write")
{
    for (var i = 0; ; i++)
    {
        await store.RecordAsync("CHILD", "child", "output", $"{tag} extra {i}");
    }
}

await Console.In.ReadLineAsync();
await store.DisposeAsync();
Console.Out.WriteLine($"closed {store.Written}");
return 0;
