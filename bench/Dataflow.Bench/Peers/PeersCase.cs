using Dataflow.Bench.Cases;
using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;

namespace Dataflow.Bench.Peers;

/// <summary>
/// peers: Dataflow beside Akka.Streams (the fastest peer measured), the synchronous TPL Dataflow chain (the practical
/// limit), plain async and Microsoft Agent Framework Workflows (a reported row: an order of magnitude slower, so it
/// runs a twentieth of A's items), on workloads A, B and C of <see cref="PeerWorkloads"/>. Every side runs in this process, in
/// rounds: each round runs every side once, and each ratio is the median of the per-round ratios.
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

        // Warm-up: every side once, small, so that JIT and the actor system's start are not measured.
        await PeerWorkloads.DataflowAAsync(Math.Min(itemsA, 20_000));
        await PeerWorkloads.DataflowManyAAsync(Math.Min(itemsA, 20_000));
        await peers.AkkaAAsync(Math.Min(itemsA, 20_000));
        await PeerWorkloads.SyncChainAAsync(Math.Min(itemsA, 20_000));
        await PeerWorkloads.DataflowCAsync(Math.Min(runsC, 1_000));
        await peers.AkkaCAsync(Math.Min(runsC, 1_000));
        await AgentWorkflowPeer.AAsync(Math.Min(itemsAgentA, 1_000), agentInFlight);

        var a = new List<(double Ours, double Akka, double Chain, double OursBytes, double AkkaBytes, double Agent, double AgentBytes, double Many)>();
        var c = new List<(double Ours, double Akka, double Agent)>();
        for (var round = 0; round < size.Repetitions; round++)
        {
            var ours = await PeerWorkloads.DataflowAAsync(itemsA);
            var akka = await peers.AkkaAAsync(itemsA);
            var chain = await PeerWorkloads.SyncChainAAsync(itemsA);
            var agent = await AgentWorkflowPeer.AAsync(itemsAgentA, agentInFlight);
            var many = await PeerWorkloads.DataflowManyAAsync(itemsA);
            a.Add((ours.ItemsPerSecond, akka.ItemsPerSecond, chain.ItemsPerSecond, ours.BytesPerItem, akka.BytesPerItem, agent.ItemsPerSecond, agent.BytesPerItem, many.ItemsPerSecond));
            c.Add(((await PeerWorkloads.DataflowCAsync(runsC)).P50, (await peers.AkkaCAsync(runsC)).P50, (await AgentWorkflowPeer.CAsync(Math.Max(runsC / 10, 100))).P50));
        }

        // B once per side (each is seconds of wall time at full size), heavy on timers: ours, Akka, plain.
        var oursB = await PeerWorkloads.DataflowBAsync(runsB);
        var akkaB = await peers.AkkaBAsync(runsB);
        var plainB = await PeerWorkloads.PlainBAsync(runsB);
        var agentB = await AgentWorkflowPeer.BAsync(runsB);

        return
        [
            new ReportRow(Name, "a_items_per_s", Median(a.Select(r => r.Ours)), "items/s", Akka, Median(a.Select(r => r.Akka)), Target.RatioAtLeast(1.0), Median(a.Select(r => r.Ours / r.Akka))),
            new ReportRow(Name, "a_items_per_s", Median(a.Select(r => r.Ours)), "items/s", "sync TPL Dataflow chain", Median(a.Select(r => r.Chain)), Target.RatioAtLeast(0.3), Median(a.Select(r => r.Ours / r.Chain))),
            new ReportRow(Name, "a_items_per_s", Median(a.Select(r => r.Ours)), "items/s", AgentWorkflows, Median(a.Select(r => r.Agent)), null, Median(a.Select(r => r.Ours / r.Agent))),
            new ReportRow(Name, "a_submit_many_items_per_s", Median(a.Select(r => r.Many)), "items/s", Akka, Median(a.Select(r => r.Akka)), null, Median(a.Select(r => r.Many / r.Akka))),
            new ReportRow(Name, "a_bytes_per_item", Median(a.Select(r => r.OursBytes)), "B", Akka, Median(a.Select(r => r.AkkaBytes)), Target.ValueAtMost(400, "B")),
            new ReportRow(Name, "a_bytes_per_item", Median(a.Select(r => r.OursBytes)), "B", AgentWorkflows, Median(a.Select(r => r.AgentBytes))),
            new ReportRow(Name, "b_wall_ms", oursB.WallMs, "ms", Akka, akkaB.WallMs, Target.RatioAtMost(1.0)),
            new ReportRow(Name, "b_wall_ms", oursB.WallMs, "ms", "plain async", plainB.WallMs, Target.RatioAtMost(1.5)),
            new ReportRow(Name, "b_wall_ms", oursB.WallMs, "ms", AgentWorkflows, agentB.WallMs),
            new ReportRow(Name, "b_run_p50_ms", oursB.Latencies.P50, "ms", "plain async", plainB.Latencies.P50, Target.RatioAtMost(2.0)),
            new ReportRow(Name, "b_run_p50_ms", oursB.Latencies.P50, "ms", Akka, akkaB.Latencies.P50),
            new ReportRow(Name, "b_run_p99_ms", oursB.Latencies.P99, "ms", Akka, akkaB.Latencies.P99),
            new ReportRow(Name, "b_run_p99_ms", oursB.Latencies.P99, "ms", "plain async", plainB.Latencies.P99),
            new ReportRow(Name, "b_heartbeat_max_lag_ms", oursB.HeartbeatMaxLagMs, "ms", "plain async", plainB.HeartbeatMaxLagMs, Target.RatioAtMost(1.5)),
            new ReportRow(Name, "b_heartbeat_max_lag_ms", oursB.HeartbeatMaxLagMs, "ms", Akka, akkaB.HeartbeatMaxLagMs),
            new ReportRow(Name, "b_bytes_per_run", oursB.BytesPerRun, "B", Akka, akkaB.BytesPerRun, Target.ValueAtMost(1_200, "B")),
            new ReportRow(Name, "b_bytes_per_run", oursB.BytesPerRun, "B", "plain async", plainB.BytesPerRun),
            new ReportRow(Name, "b_bytes_per_run", oursB.BytesPerRun, "B", AgentWorkflows, agentB.BytesPerRun),
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
