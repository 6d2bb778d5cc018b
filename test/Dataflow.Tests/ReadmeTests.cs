using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Readme;

// The README's quick start, word for word where it can be, so that it stays true.
public sealed record Fetch(string Url) : INode<Parse>
{
    public async ValueTask<Parse> RunAsync(NodeContext context)
    {
        await Task.Delay(10, context.CancellationToken);
        return new Parse($"<html>{Url}</html>");
    }
}

public abstract record Outcome : INode;

public sealed record Stored(int Length) : Outcome;

public sealed record Rejected(string Why) : Outcome;

public sealed record Parse(string Html) : INode<Outcome>
{
    public ValueTask<Outcome> RunAsync(NodeContext context) =>
        ValueTask.FromResult<Outcome>(Html.Length > 10 ? new Stored(Html.Length) : new Rejected("too short"));
}

public sealed class ConsoleSink(TextWriter console) : IEventSink
{
    public ValueTask WriteAsync(GraphEvent e, CancellationToken cancellationToken)
    {
        console.WriteLine(e.Content);
        return ValueTask.CompletedTask;
    }
}

[TestFixture]
public sealed class ReadmeTests
{
    [Test]
    public async Task QuickStart_RunsAsTheReadmeSays()
    {
        var console = new StringWriter();
        GraphRun run;
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(new ConsoleSink(console), new SinkOptions { Policy = OutputPolicy.Normal });
            var graph = Graph.Create<Fetch>(new GraphOptions { MaxDegreeOfParallelism = 8, MaxRunsInFlight = 100 });
            run = await engine.SubmitAsync(graph, new Fetch("https://example.org"));
            await run.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        }

        Assert.That($"{run.Id} {run.State}: {run.Result}", Is.EqualTo("g1 Done: Stored { Length = 32 }"));
        var lines = console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo("g1 started: Fetch { Url = https://example.org }"));
        Assert.That(lines[1], Does.Match(@"^g1 done \(\d+\.\d+s\)$"));
        Assert.That(Graph.Create<Fetch>().Successors(typeof(Parse)), Is.EquivalentTo(new[] { typeof(Rejected), typeof(Stored) }));
    }
}
