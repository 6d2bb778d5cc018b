using System.Diagnostics;
using System.Globalization;
using System.Net;
using Dataflow.Dashboard;
using Dataflow.Sqlite;
using Dataflow.Storage;

namespace Dataflow.Bench.Workloads;

/// <summary>
/// A store of one session with <c>n</c> entries as <c>dataflow run</c> writes them (five per run: start, three
/// transitions, complete or, for one run in twenty, fail), served by the dashboard on Kestrel at 127.0.0.1. Times the
/// run list's first page and a run page over HTTP (as a browser waits for them: the request, the page's queries, the
/// HTML), against the same queries done directly on an open <see cref="SessionHistory"/>.
/// </summary>
internal sealed class DashboardWorkload : IAsyncDisposable
{
    private const int EntriesPerRun = 5;

    private readonly DashboardServer _server;
    private readonly HttpClient _http;
    private readonly SessionHistory _direct;
    private readonly string _session;
    private readonly int _runs;

    private DashboardWorkload(DashboardServer server, SessionHistory direct, string session, int runs)
    {
        _server = server;
        _direct = direct;
        _session = session;
        _runs = runs;
        _http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(1) };
    }

    public static async Task<DashboardWorkload> CreateAsync(string path, int entries)
    {
        var runs = Math.Max(1, entries / EntriesPerRun);
        string session;
        var store = new SessionStore(path, new SessionStoreOptions { WorkingDirectory = "/bench", BatchSize = 4096, QueueCapacity = 65_536, DurableCommits = false });
        await using (store)
        {
            session = store.SessionId;
            var time = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
            string[] nodes = ["Order", "Priced", "Standard", "Shipped"];
            for (var i = 1; i <= runs; i++)
            {
                var id = "g" + i.ToString(CultureInfo.InvariantCulture);
                var at = time.AddMilliseconds(i);
                await store.RecordAsync(Event(at, id, "start", $"{id} started: Order {{ Id = {i}, Customer = c{i % 97}, Quantity = 2, UnitPrice = 10 }}", new() { ["node"] = "Order" }));
                var failed = i % 20 == 0;
                for (var step = 0; step < 3 && !(failed && step == 2); step++)
                {
                    await store.RecordAsync(Event(at.AddMilliseconds(step + 1), id, "transition", $"{id} {nodes[step]} -> {nodes[step + 1]}", new() { ["from"] = nodes[step], ["to"] = nodes[step + 1] }));
                }

                await store.RecordAsync(failed
                    ? Event(at.AddMilliseconds(4), id, "fail", $"{id} failed: InvalidOperationException: order {i} refused", new() { ["node"] = "Standard", ["duration_ms"] = 4.0, ["error"] = $"InvalidOperationException: order {i} refused" })
                    : Event(at.AddMilliseconds(4), id, "complete", $"{id} done (0.004s)", new() { ["node"] = "Shipped", ["duration_ms"] = 4.0 }));
            }

            await store.FlushAsync();
        }

        var server = await DashboardServer.StartAsync(new DashboardOptions { StorePath = path }, new IPEndPoint(IPAddress.Loopback, 0));
        return new DashboardWorkload(server, SessionHistory.Open(path), session, runs);
    }

    /// <summary>Times <paramref name="repetitions"/> of each page and query; returns (page, ours, direct) per page.</summary>
    public async Task<IReadOnlyList<(string Page, List<double> Ours, List<double> Direct)>> MeasureAsync(int repetitions)
    {
        var random = new Random(18);
        var list = (Page: "list", Ours: new List<double>(), Direct: new List<double>());
        var failed = (Page: "failed", Ours: new List<double>(), Direct: new List<double>());
        var run = (Page: "run", Ours: new List<double>(), Direct: new List<double>());
        for (var i = 0; i < repetitions; i++)
        {
            list.Ours.Add(await TimeAsync(() => GetAsync($"sessions/{_session}")));
            list.Direct.Add(await TimeAsync(() => CountAsync(_direct.RunsAsync(_session, new RunQuery { Limit = 50 }))));
            failed.Ours.Add(await TimeAsync(() => GetAsync($"sessions/{_session}?state=failed")));
            failed.Direct.Add(await TimeAsync(() => CountAsync(_direct.RunsAsync(_session, new RunQuery { Limit = 50, State = StoredRunState.Failed }))));
            var runId = "g" + random.Next(1, _runs + 1).ToString(CultureInfo.InvariantCulture);
            run.Ours.Add(await TimeAsync(() => GetAsync($"sessions/{_session}/runs/{runId}")));
            run.Direct.Add(await TimeAsync(() => CountAsync(_direct.SessionEntriesAsync(_session, runId))));
        }

        return [list, failed, run];
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        _direct.Dispose();
    }

    private static StoreRecord Event(DateTimeOffset at, string runId, string kind, string content, Dictionary<string, object?> fields)
    {
        fields["type"] = "lifecycle";
        fields["event"] = kind;
        fields["run_id"] = runId;
        fields["graph"] = "Order";
        return new StoreRecord(at, "GRAPH", "graph", "output", content, fields) { RunId = runId, Event = kind };
    }

    private static async Task<double> TimeAsync(Func<Task<int>> work)
    {
        var started = Stopwatch.GetTimestamp();
        var count = await work();
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return count > 0 ? elapsed : throw new InvalidOperationException("A dashboard bench query returned nothing.");
    }

    private async Task<int> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsByteArrayAsync()).Length;
    }

    private static async Task<int> CountAsync<T>(IAsyncEnumerable<T> rows)
    {
        var count = 0;
        await foreach (var _ in rows)
        {
            count++;
        }

        return count;
    }
}
