using CsCheck;
using Dataflow.Dashboard.Live;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Dashboard.Tests;

public enum Color
{
    Red,
    Green,
}

public sealed record Box(string Label, int Size);

/// <summary>A node with a gate of each kind of type the page parses.</summary>
public sealed record Form(string Name) : INode<Filled>
{
    [Gate] public int Count { get; set; }

    [Gate] public Color Color { get; set; }

    [Gate] public TimeSpan? Wait { get; set; }

    [Gate] public string Note { get; set; } = string.Empty;

    [Gate] public Box? Box { get; set; }

    public ValueTask<Filled> RunAsync(NodeContext context) => ValueTask.FromResult(new Filled($"{Count} {Color} {Wait?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} {Note} {Box}"));
}

public sealed record Filled(string Summary) : INode;

/// <summary>The text typed for a gate becomes a value of the gate's type, or a message; the engine then takes it.</summary>
[TestFixture]
public sealed class GateValueTests
{
    [Test]
    public async Task TypedText_BecomesValuesOfEachGatesType_AndTheRunTakesThem()
    {
        await using var engine = new GraphEngine();
        var run = engine.Submit(Graph.Create<Form>(), new Form("f"));
        var gates = (await run.WaitForGatesAsync().WaitAsync(TimeSpan.FromSeconds(30))).ToDictionary(g => g.Field);
        string[] answers = ["Count=42", "Color=green", "Wait=", "Note=  as typed  ", "Box={\"label\":\"<b>\",\"size\":3}"];

        foreach (var answer in answers)
        {
            var (field, text) = (answer[..answer.IndexOf('=', StringComparison.Ordinal)], answer[(answer.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            Assert.That(GateValues.TryParse(gates[field], text, out var value, out var problem), Is.True, problem);
            Assert.That(engine.ResolveGate(gates[field].Id, value), Is.True);
        }

        await run.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(run.GetResult<Filled>().Summary, Is.EqualTo("42 Green none   as typed   Box { Label = <b>, Size = 3 }"));
    }

    [Test]
    public async Task WrongText_IsAMessageNamingTheType_NeverAThrow()
    {
        await using var engine = new GraphEngine();
        var run = engine.Submit(Graph.Create<Form>(), new Form("f"));
        var gates = (await run.WaitForGatesAsync().WaitAsync(TimeSpan.FromSeconds(30))).ToDictionary(g => g.Field);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(GateValues.TryParse(gates["Count"], "12x", out _, out var count), Is.False);
            Assert.That(count, Does.StartWith("'12x' is not a valid int"));
            Assert.That(GateValues.TryParse(gates["Count"], "99999999999", out _, out var overflow), Is.False);
            Assert.That(overflow, Does.Contain("is not a valid int"));
            Assert.That(GateValues.TryParse(gates["Color"], "blue", out _, out var color), Is.False);
            Assert.That(color, Does.Contain("is not a valid Color"));
            Assert.That(GateValues.TryParse(gates["Box"], "{", out _, out var box), Is.False);
            Assert.That(box, Does.Contain("is not a valid Box"));
        }

        await Gen.String.SampleAsync(
            text =>
            {
                foreach (var gate in gates.Values)
                {
                    _ = GateValues.TryParse(gate, text, out _, out _);
                }

                return Task.CompletedTask;
            },
            iter: 500);
        run.Cancel();
    }
}
