using System.Collections.Concurrent;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Tests.Inputs;

public sealed record Weather(string Sky);

public sealed record Location(string City);

/// <summary>Counts how often each dependency type was computed, across runs of one test.</summary>
public static class DependencyLog
{
    private static readonly ConcurrentDictionary<string, int> Counts = new();

    public static int Count(string key) => Counts.GetValueOrDefault(key);

    public static void Hit(string key) => Counts.AddOrUpdate(key, 1, (_, n) => n + 1);
}

public sealed class LocationDep : IDependency<Location>
{
    public async ValueTask<Location> ResolveAsync(NodeContext context)
    {
        DependencyLog.Hit(context.RunId + ":location");
        await Task.Delay(10, context.CancellationToken);
        return new Location("Lisbon");
    }
}

public sealed class WeatherDep : IDependency<Weather>
{
    [Dep(typeof(LocationDep))]
    public Location? Location { get; set; }

    public async ValueTask<Weather> ResolveAsync(NodeContext context)
    {
        DependencyLog.Hit(context.RunId + ":weather");
        await Task.Yield();
        return new Weather($"sunny in {Location!.City}");
    }
}

/// <summary>Waits until its sibling has started too (which only concurrent resolution allows), then works 50 ms.</summary>
public sealed class SlowA : IDependency<int>
{
    public async ValueTask<int> ResolveAsync(NodeContext context)
    {
        await ((TwoSlow)context.StartNode).Meeting.ArriveAndWaitAsync(context.CancellationToken);
        await Task.Delay(50, context.CancellationToken);
        return 1;
    }
}

public sealed class SlowB : IDependency<long>
{
    public async ValueTask<long> ResolveAsync(NodeContext context)
    {
        await ((TwoSlow)context.StartNode).Meeting.ArriveAndWaitAsync(context.CancellationToken);
        await Task.Delay(50, context.CancellationToken);
        return 2;
    }
}

public sealed class FailingDep : IDependency<string>
{
    public ValueTask<string> ResolveAsync(NodeContext context) => throw new InvalidOperationException("no network");
}

// A forecast graph: Forecast (needs weather, itself needing location) -> Report (needs location again, recalls the forecast).
public sealed record Forecast(string Day) : INode<Report>
{
    [Dep(typeof(WeatherDep))]
    public Weather? Weather { get; set; }

    public ValueTask<Report> RunAsync(NodeContext context) => ValueTask.FromResult(new Report($"{Day}: {Weather!.Sky}"));
}

public sealed record Report(string Line) : INode<Done>
{
    [Dep(typeof(LocationDep))]
    public Location? Location { get; set; }

    [Recall]
    public Forecast? Source { get; set; }

    public ValueTask<Done> RunAsync(NodeContext context) => ValueTask.FromResult(new Done($"{Line} ({Location!.City}, from {Source!.Day})"));
}

public sealed record Done(string Text) : INode;

public sealed record TwoSlow(Dataflow.Tests.Engine.Rendezvous Meeting) : INode<Done>
{
    [Dep(typeof(SlowA))]
    public int A { get; set; }

    [Dep(typeof(SlowB))]
    public long B { get; set; }

    public ValueTask<Done> RunAsync(NodeContext context) => ValueTask.FromResult(new Done($"{A + B}"));
}

public sealed record NeedsFailing : INode<Done>
{
    [Dep(typeof(FailingDep))]
    public string? Value { get; set; }

    public ValueTask<Done> RunAsync(NodeContext context) => ValueTask.FromResult(new Done(Value!));
}

public interface IClock
{
    DateTimeOffset Now { get; }
}

public sealed class FixedClock : IClock
{
    public DateTimeOffset Now => new(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
}

public sealed record Stamp : INode<Done>
{
    [Dep]
    public IClock? Clock { get; set; }

    public ValueTask<Done> RunAsync(NodeContext context) => ValueTask.FromResult(new Done(Clock!.Now.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)));
}

public sealed class ServiceMap(params object[] services) : IServiceProvider
{
    public object? GetService(Type serviceType) => services.FirstOrDefault(serviceType.IsInstanceOfType);
}

// Recall of a plain field: Pick holds a Location; Use recalls a Location.
public sealed record Pick(Location Where) : INode<Use>
{
    public ValueTask<Use> RunAsync(NodeContext context) => ValueTask.FromResult(new Use());
}

public sealed record Use : INode<Done>
{
    [Recall]
    public Location? Where { get; set; }

    public ValueTask<Done> RunAsync(NodeContext context) => ValueTask.FromResult(new Done(Where!.City));
}

// Recall with no match.
public sealed record Lost : INode<Seeker>
{
    public ValueTask<Seeker> RunAsync(NodeContext context) => ValueTask.FromResult(new Seeker());
}

public sealed record Seeker : INode<Done>
{
    [Recall]
    public Weather? Weather { get; set; }

    public ValueTask<Done> RunAsync(NodeContext context) => ValueTask.FromResult(new Done("unreachable"));
}

// Gates.
public sealed record Deploy(string Service) : INode<Deployed>
{
    [Gate("Deploy to prod?")]
    public bool Approved { get; set; }

    [Gate]
    public string? Approver { get; set; }

    public ValueTask<Deployed> RunAsync(NodeContext context) => ValueTask.FromResult(new Deployed(Service, Approved, Approver));
}

public sealed record Deployed(string Service, bool Approved, string? Approver) : INode;

/// <summary>Holds the run until released, then goes on to a gated node.</summary>
public sealed record Prelude(TaskCompletionSource Entered, TaskCompletionSource Release) : INode<Deploy>
{
    public async ValueTask<Deploy> RunAsync(NodeContext context)
    {
        Entered.TrySetResult();
        await Release.Task;
        return new Deploy("late");
    }
}

// Effects.
public sealed record Step1(int N) : INode<Step2>
{
    public ValueTask<Step2> RunAsync(NodeContext context) => ValueTask.FromResult(new Step2(N + 1));
}

public sealed record Step2(int N) : INode<Step3>
{
    public ValueTask<Step3> RunAsync(NodeContext context) => ValueTask.FromResult(new Step3(N + 1));
}

public sealed record Step3(int N) : INode;

// Build-time errors.
public sealed class CycleA : IDependency<int>
{
    [Dep(typeof(CycleB))]
    public int B { get; set; }

    public ValueTask<int> ResolveAsync(NodeContext context) => ValueTask.FromResult(1);
}

public sealed class CycleB : IDependency<int>
{
    [Dep(typeof(CycleA))]
    public int A { get; set; }

    public ValueTask<int> ResolveAsync(NodeContext context) => ValueTask.FromResult(2);
}

public sealed record CycleNode : INode<Done>
{
    [Dep(typeof(CycleA))]
    public int Value { get; set; }

    public ValueTask<Done> RunAsync(NodeContext context) => ValueTask.FromResult(new Done(""));
}

public sealed record MisfitNode : INode<Done>
{
    [Dep(typeof(WeatherDep))]
    public string? Sky { get; set; }

    public ValueTask<Done> RunAsync(NodeContext context) => ValueTask.FromResult(new Done(""));
}

public sealed record RecallingStart : INode<Done>
{
    [Recall]
    public Weather? Weather { get; set; }

    public ValueTask<Done> RunAsync(NodeContext context) => ValueTask.FromResult(new Done(""));
}
