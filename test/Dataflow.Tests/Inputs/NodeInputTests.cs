using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Tests.Events;
using NUnit.Framework;

namespace Dataflow.Tests.Inputs;

[TestFixture]
public sealed class NodeInputTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private static async Task<GraphRun> RunToEnd<TStart>(GraphEngine engine, TStart start, GraphOptions? options = null)
        where TStart : INode
    {
        var run = engine.Submit(Graph.Create<TStart>(options), start);
        await run.Completion.WaitAsync(Guard);
        return run;
    }

    [Test]
    public async Task Dependencies_AreTransitive_CachedPerRun_AndTimed()
    {
        await using var engine = new GraphEngine();

        var run = await RunToEnd(engine, new Forecast("Monday"));

        Assert.That(run.State, Is.EqualTo(RunState.Done), run.Error);
        Assert.That(((Done)run.Result!).Text, Is.EqualTo("Monday: sunny in Lisbon (Lisbon, from Monday)"));
        Assert.That(DependencyLog.Count(run.Id + ":location"), Is.EqualTo(1), "LocationDep is needed twice, computed once");
        Assert.That(DependencyLog.Count(run.Id + ":weather"), Is.EqualTo(1));
        Assert.That(run.DepTimings.Select(t => t.Name), Is.EqualTo(new[] { "LocationDep", "WeatherDep" }));
        var location = run.DepTimings[0].DurationMs;
        Assert.That(location, Is.GreaterThanOrEqualTo(5).And.LessThan(5_000), "a 10 ms dependency shows about 10 ms");
    }

    [Test]
    public async Task IndependentDependencies_RunConcurrently()
    {
        // Each dependency waits for the other to start: resolved one after the other, they would never meet.
        await using var engine = new GraphEngine();
        var meeting = new Dataflow.Tests.Engine.Rendezvous(2);

        var run = await RunToEnd(engine, new TwoSlow(meeting));

        Assert.That(run.State, Is.EqualTo(RunState.Done), run.Error);
        Assert.That(((Done)run.Result!).Text, Is.EqualTo("3"));
        Assert.That(meeting.All.IsCompletedSuccessfully, Is.True);
        Assert.That(run.DepTimings.Select(t => t.Name), Is.EquivalentTo(new[] { "SlowA", "SlowB" }));
        Assert.That(run.DepTimings.Select(t => t.DurationMs), Has.All.GreaterThanOrEqualTo(40), "each timing covers its own 50 ms of work");
    }

    [Test]
    public async Task FailingDependency_FailsTheRun_NamingDependencyAndNode_KeepingCauseAndTrace()
    {
        await using var engine = new GraphEngine();

        var run = await RunToEnd(engine, new NeedsFailing());

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Exception, Is.TypeOf<DependencyException>());
        Assert.That(run.Error, Is.EqualTo("DependencyException: Dependency 'FailingDep' of node 'NeedsFailing' failed: InvalidOperationException: no network"));
        Assert.That(run.Exception!.InnerException, Is.TypeOf<InvalidOperationException>());
        Assert.That(((DependencyException)run.Exception).Dependency, Is.EqualTo("FailingDep"));
        Assert.That(run.Trace, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ServiceDependency_ComesFromTheEngineServiceProvider()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { Services = new ServiceMap(new FixedClock()) });

        var run = await RunToEnd(engine, new Stamp());

        Assert.That(((Done)run.Result!).Text, Is.EqualTo("2026-11-25"));
        Assert.That(run.DepTimings.Single().Name, Is.EqualTo("IClock"));
    }

    [Test]
    public async Task ServiceDependency_WithoutProvider_FailsWithAClearMessage()
    {
        await using var engine = new GraphEngine();

        var run = await RunToEnd(engine, new Stamp());

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Error, Does.Contain("register a 'IClock' in the IServiceProvider given to GraphEngineOptions.Services"));
    }

    [Test]
    public void DependencyCycle_IsRefusedAtBuildTime_NamingTheCycleInOrder()
    {
        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create<CycleNode>());

        Assert.That(e!.Errors, Is.EqualTo(new[] { "Dependency cycle: CycleA -> CycleB -> CycleA." }));
    }

    [Test]
    public void DependencyOfWrongType_IsRefusedAtBuildTime_NamingBothTypes()
    {
        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create<MisfitNode>());

        Assert.That(e!.Errors, Is.EqualTo(new[] { "Dependency 'WeatherDep' returns 'Weather', which does not fit 'MisfitNode.Sky' of type 'String'." }));
    }

    [Test]
    public void RecallOnTheStartNode_IsRefusedAtBuildTime()
    {
        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create<RecallingStart>());

        Assert.That(e!.Message, Is.EqualTo("Invalid graph: Node 'RecallingStart' is the start node and cannot recall 'Weather' (Weather): there is no earlier node in its trace."));
    }

    [Test]
    public async Task Recall_CopiesAPlainFieldOfAnEarlierNode()
    {
        await using var engine = new GraphEngine();

        var run = await RunToEnd(engine, new Pick(new Location("Porto")));

        Assert.That(((Done)run.Result!).Text, Is.EqualTo("Porto"));
    }

    [Test]
    public async Task Recall_WithoutMatch_FailsNamingTheType()
    {
        await using var engine = new GraphEngine();

        var run = await RunToEnd(engine, new Lost());

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Exception, Is.TypeOf<RecallException>());
        Assert.That(run.Error, Is.EqualTo("RecallException: Node 'Seeker' recalls 'Weather' of type 'Weather', but no earlier node in the run's trace is or holds one."));
    }

    [Test]
    public async Task Effects_RunInOrder_AfterTheTargetIsProducedAndBeforeItRuns()
    {
        var log = new List<string>();
        var options = new GraphOptions()
            .Effect<Step1, Step2>((from, to) => log.Add($"first {from.N}->{to.N}"))
            .Effect<Step1, Step2>(async (from, to, context) =>
            {
                await Task.Yield();
                log.Add($"second {context.RunId}");
            })
            .Effect<Step2, Step3>((_, to) => log.Add($"third {to.N}"));
        await using var engine = new GraphEngine();

        var run = await RunToEnd(engine, new Step1(1), options);

        Assert.That(run.State, Is.EqualTo(RunState.Done));
        Assert.That(log, Is.EqualTo(new[] { "first 1->2", "second g1", "third 3" }));
    }

    [Test]
    public async Task FailingEffect_FailsTheRun_NamingTheEffect()
    {
        var options = new GraphOptions().Effect<Step1, Step2>((_, _) => throw new InvalidOperationException("mail down"), "notify");
        await using var engine = new GraphEngine();

        var run = await RunToEnd(engine, new Step1(1), options);

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Error, Is.EqualTo("EffectException: Effect 'notify' failed: InvalidOperationException: mail down"));
        Assert.That(run.Exception!.InnerException, Is.TypeOf<InvalidOperationException>());
    }

    [Test]
    public void EffectOnAMissingEdge_IsRefusedAtBuildTime()
    {
        var options = new GraphOptions().Effect<Step1, Step3>((_, _) => { });

        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create<Step1>(options));

        Assert.That(e!.Errors, Is.EqualTo(new[] { "Effect 'Step1 -> Step3' is attached to Step1 -> Step3, which is not an edge of this graph." }));
    }
}
