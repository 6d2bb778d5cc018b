using Dataflow.Bench.Cases;
using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;

namespace Dataflow.Bench.Peers;

/// <summary>
/// peers: Dataflow beside Akka.Streams (the fastest peer measured), the synchronous TPL Dataflow chain (the practical
/// limit), plain async and Microsoft Agent Framework Workflows (a reported row: an order of magnitude slower, so it
/// runs a twentieth of A's items), on workloads A, B and C of <see cref="PeerWorkloads"/>. Every side runs in this process, in
/// rounds: each round runs every side once (Agent Workflows' B only once, after the rounds), and each ratio is the
/// median of the per-round ratios. Every side warms up until the JIT is quiet before the first round.
/// A's target rows run Dataflow's batch as a whole (<c>RunBatchAsync</c>), as Akka's side runs its stream into a sink;
/// the <c>a_submit_each</c> rows run the same items with one <c>SubmitAsync</c> and one completion task per item, and
/// <c>a_submit_many</c> through <c>SubmitManyAsync</c>, reported beside them.
/// </summary>
internal sealed class PeersCase : IBenchCase
{
    private const string Akka = "Akka.Streams 1.5.74";

    private const string AgentWorkflows = "MS Agent Framework Workflows 1.28";

    public string Name => "peers";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        var itemsA = size.ThroughputRuns;
        var runsB = Math.Min(size.StarvationRuns, 20_000);
        var runsC = Math.Max(size.ThroughputRuns / 10, 200);
        var itemsAgentA = Math.Max(itemsA / 20, 200);
        var agentInFlight = Environment.ProcessorCount * 4;
        await using var peers = new PeerWorkloads();

        // Warm-up: every side in turn until the JIT is quiet (Repeat.WarmUpAsync), so that neither tier-0 code nor
        // the actor system's start is measured; B's sides too, on a tenth of its runs. Agent Workflows, a reported
        // row an order of magnitude slower, warms up once.
        var warmA = Math.Min(itemsA, 20_000);
        var warmB = Math.Max(runsB / 10, 100);
        var warmC = Math.Min(runsC, 1_000);
        await Repeat.WarmUpAsync(
            size.WarmUp * 2,
            () => PeerWorkloads.DataflowAAsync(warmA),
            () => PeerWorkloads.DataflowBatchAAsync(warmA),
            () => PeerWorkloads.DataflowManyAAsync(warmA),
            () => peers.AkkaAAsync(warmA),
            () => PeerWorkloads.SyncChainAAsync(warmA),
            () => PeerWorkloads.DataflowCAsync(warmC),
            () => peers.AkkaCAsync(warmC),
            () => PeerWorkloads.DataflowBAsync(warmB),
            () => peers.AkkaBAsync(warmB),
            () => PeerWorkloads.PlainBAsync(warmB));
        await AgentWorkflowPeer.AAsync(Math.Min(itemsAgentA, 1_000), agentInFlight);

        var a = new List<(double Ours, double Akka, double Chain, double OursBytes, double AkkaBytes, double Agent, double AgentBytes, double Many, double Each, double EachBytes)>();
        var c = new List<(double Ours, double Akka, double Agent)>();
        var b = new List<(ConcurrentFigures Ours, ConcurrentFigures Akka, ConcurrentFigures Plain)>();
        for (var round = 0; round < size.Repetitions; round++)
        {
            var ours = await PeerWorkloads.DataflowBatchAAsync(itemsA);
            var each = await PeerWorkloads.DataflowAAsync(itemsA);
            var akka = await peers.AkkaAAsync(itemsA);
            var chain = await PeerWorkloads.SyncChainAAsync(itemsA);
            var agent = await AgentWorkflowPeer.AAsync(itemsAgentA, agentInFlight);
            var many = await PeerWorkloads.DataflowManyAAsync(itemsA);
            a.Add((ours.ItemsPerSecond, akka.ItemsPerSecond, chain.ItemsPerSecond, ours.BytesPerItem, akka.BytesPerItem, agent.ItemsPerSecond, agent.BytesPerItem, many.ItemsPerSecond, each.ItemsPerSecond, each.BytesPerItem));
            c.Add(((await PeerWorkloads.DataflowCAsync(runsC)).P50, (await peers.AkkaCAsync(runsC)).P50, (await AgentWorkflowPeer.CAsync(Math.Max(runsC / 10, 100))).P50));

            // B in every round too: one run of 20,000 timers is a fraction of a second, and a single one swung the
            // wall ratio from 0.8 to 1.1 between reports.
            b.Add((await PeerWorkloads.DataflowBAsync(runsB), await peers.AkkaBAsync(runsB), await PeerWorkloads.PlainBAsync(runsB)));
        }

        // Agent Workflows' B once (seconds of wall time at full size).
        var agentB = await AgentWorkflowPeer.BAsync(runsB);
        double OursB(Func<ConcurrentFigures, double> metric) => Median(b.Select(r => metric(r.Ours)));
        double AkkaB(Func<ConcurrentFigures, double> metric) => Median(b.Select(r => metric(r.Akka)));
        double PlainB(Func<ConcurrentFigures, double> metric) => Median(b.Select(r => metric(r.Plain)));
        double ToAkka(Func<ConcurrentFigures, double> metric) => Median(b.Select(r => metric(r.Ours) / metric(r.Akka)));
        double ToPlain(Func<ConcurrentFigures, double> metric) => Median(b.Select(r => metric(r.Ours) / metric(r.Plain)));
        static double Wall(ConcurrentFigures f) => f.WallMs;
        static double P50(ConcurrentFigures f) => f.Latencies.P50;
        static double P99(ConcurrentFigures f) => f.Latencies.P99;
        static double Lag(ConcurrentFigures f) => f.HeartbeatMaxLagMs;
        static double Bytes(ConcurrentFigures f) => f.BytesPerRun;

        return
        [
            new ReportRow(Name, "a_items_per_s", Median(a.Select(r => r.Ours)), "items/s", Akka, Median(a.Select(r => r.Akka)), Target.RatioAtLeast(1.0), Median(a.Select(r => r.Ours / r.Akka))),
            new ReportRow(Name, "a_items_per_s", Median(a.Select(r => r.Ours)), "items/s", "sync TPL Dataflow chain", Median(a.Select(r => r.Chain)), Target.RatioAtLeast(0.3), Median(a.Select(r => r.Ours / r.Chain))),
            new ReportRow(Name, "a_items_per_s", Median(a.Select(r => r.Ours)), "items/s", AgentWorkflows, Median(a.Select(r => r.Agent)), null, Median(a.Select(r => r.Ours / r.Agent))),
            new ReportRow(Name, "a_submit_each_items_per_s", Median(a.Select(r => r.Each)), "items/s", Akka, Median(a.Select(r => r.Akka)), null, Median(a.Select(r => r.Each / r.Akka))),
            new ReportRow(Name, "a_submit_each_items_per_s", Median(a.Select(r => r.Each)), "items/s", "sync TPL Dataflow chain", Median(a.Select(r => r.Chain)), null, Median(a.Select(r => r.Each / r.Chain))),
            new ReportRow(Name, "a_submit_many_items_per_s", Median(a.Select(r => r.Many)), "items/s", Akka, Median(a.Select(r => r.Akka)), null, Median(a.Select(r => r.Many / r.Akka))),
            new ReportRow(Name, "a_bytes_per_item", Median(a.Select(r => r.OursBytes)), "B", Akka, Median(a.Select(r => r.AkkaBytes)), Target.ValueAtMost(400, "B")),
            new ReportRow(Name, "a_bytes_per_item", Median(a.Select(r => r.OursBytes)), "B", AgentWorkflows, Median(a.Select(r => r.AgentBytes))),
            new ReportRow(Name, "a_submit_each_bytes_per_item", Median(a.Select(r => r.EachBytes)), "B", Akka, Median(a.Select(r => r.AkkaBytes))),
            new ReportRow(Name, "b_wall_ms", OursB(Wall), "ms", Akka, AkkaB(Wall), Target.RatioAtMost(1.0), ToAkka(Wall)),
            new ReportRow(Name, "b_wall_ms", OursB(Wall), "ms", "plain async", PlainB(Wall), Target.RatioAtMost(1.5), ToPlain(Wall)),
            new ReportRow(Name, "b_wall_ms", OursB(Wall), "ms", AgentWorkflows, agentB.WallMs),
            new ReportRow(Name, "b_run_p50_ms", OursB(P50), "ms", "plain async", PlainB(P50), Target.RatioAtMost(2.0), ToPlain(P50)),
            new ReportRow(Name, "b_run_p50_ms", OursB(P50), "ms", Akka, AkkaB(P50), null, ToAkka(P50)),
            new ReportRow(Name, "b_run_p99_ms", OursB(P99), "ms", Akka, AkkaB(P99), null, ToAkka(P99)),
            new ReportRow(Name, "b_run_p99_ms", OursB(P99), "ms", "plain async", PlainB(P99), null, ToPlain(P99)),
            new ReportRow(Name, "b_heartbeat_max_lag_ms", OursB(Lag), "ms", "plain async", PlainB(Lag), Target.RatioAtMost(1.5), ToPlain(Lag)),
            new ReportRow(Name, "b_heartbeat_max_lag_ms", OursB(Lag), "ms", Akka, AkkaB(Lag), null, ToAkka(Lag)),
            new ReportRow(Name, "b_bytes_per_run", OursB(Bytes), "B", Akka, AkkaB(Bytes), Target.ValueAtMost(1_200, "B")),
            new ReportRow(Name, "b_bytes_per_run", OursB(Bytes), "B", "plain async", PlainB(Bytes)),
            new ReportRow(Name, "b_bytes_per_run", OursB(Bytes), "B", AgentWorkflows, agentB.BytesPerRun),
            new ReportRow(Name, "c_us_per_run_p50", Median(c.Select(r => r.Ours)), "us", Akka + " (long-lived queue)", Median(c.Select(r => r.Akka)), Target.RatioAtMost(1.0), Median(c.Select(r => r.Ours / r.Akka))),
            new ReportRow(Name, "c_us_per_run_p50", Median(c.Select(r => r.Ours)), "us", AgentWorkflows, Median(c.Select(r => r.Agent)), null, Median(c.Select(r => r.Ours / r.Agent))),
        ];
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
