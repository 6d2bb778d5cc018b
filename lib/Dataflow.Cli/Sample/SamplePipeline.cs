using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Sample;

// The built-in sample: an order pipeline that shows the library's range in a few seconds.
//
//   Order ──> Priced ──> Express  ──> Shipped
//                   ├──> Standard ──> Shipped
//                   └──> Review   ──> Shipped      (Review is a [BlockingNode]: a synchronous fraud check)
//
// Order fails on purpose for a quantity of zero or less; Review fails on purpose for a flagged customer.
// Priced needs the customer's tier: a [Dep] input that the engine computes once per run with CustomerTierLookup
// (an asynchronous stand-in for a remote service) and times into the run's dependency timings.

/// <summary>The sample's start node: one order, as read from a JSONL line or generated.</summary>
/// <param name="Id">The order number.</param>
/// <param name="Customer">The customer's name.</param>
/// <param name="Quantity">How many items; zero or less fails the run on purpose.</param>
/// <param name="UnitPrice">The price of one item.</param>
public sealed record Order(int Id, string Customer, int Quantity, decimal UnitPrice) : INode<Priced>
{
    /// <inheritdoc/>
    public async ValueTask<Priced> RunAsync(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Quantity <= 0)
        {
            throw new InvalidOperationException($"order {Id}: quantity must be positive, was {Quantity}");
        }

        await Task.Delay(SampleTiming.Jitter(Id, 2, 8), context.CancellationToken).ConfigureAwait(false);
        return new Priced(Id, Customer, Quantity * UnitPrice);
    }
}

/// <summary>A priced order; chooses its route from the amount and the customer's tier.</summary>
/// <param name="Id">The order number.</param>
/// <param name="Customer">The customer's name.</param>
/// <param name="Total">The order's total.</param>
public sealed record Priced(int Id, string Customer, decimal Total) : INode<Route>
{
    /// <summary>The customer's tier, filled in by the engine before the node runs.</summary>
    [Dep(typeof(CustomerTierLookup))]
    public CustomerTier Tier { get; set; }

    /// <inheritdoc/>
    public ValueTask<Route> RunAsync(NodeContext context)
    {
        if (Total >= 1000m)
        {
            return ValueTask.FromResult<Route>(new Review(Id, Customer, Total));
        }

        return ValueTask.FromResult<Route>(Tier == CustomerTier.Gold ? new Express(Id, Total) : new Standard(Id, Total));
    }
}

/// <summary>The choice that <see cref="Priced"/> makes: every concrete route is a successor.</summary>
public abstract record Route : INode<Shipped>
{
    /// <inheritdoc/>
    public abstract ValueTask<Shipped> RunAsync(NodeContext context);
}

/// <summary>The fast route for gold customers.</summary>
/// <param name="Id">The order number.</param>
/// <param name="Total">The order's total.</param>
public sealed record Express(int Id, decimal Total) : Route
{
    /// <inheritdoc/>
    public override async ValueTask<Shipped> RunAsync(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await Task.Delay(SampleTiming.Jitter(Id, 5, 15), context.CancellationToken).ConfigureAwait(false);
        return new Shipped(Id, "express");
    }
}

/// <summary>The ordinary route.</summary>
/// <param name="Id">The order number.</param>
/// <param name="Total">The order's total.</param>
public sealed record Standard(int Id, decimal Total) : Route
{
    /// <inheritdoc/>
    public override async ValueTask<Shipped> RunAsync(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await Task.Delay(SampleTiming.Jitter(Id, 20, 80), context.CancellationToken).ConfigureAwait(false);
        return new Shipped(Id, "standard");
    }
}

/// <summary>Large orders: a synchronous fraud check that blocks its thread, so it runs on dedicated threads.</summary>
/// <param name="Id">The order number.</param>
/// <param name="Customer">The customer's name.</param>
/// <param name="Total">The order's total.</param>
[BlockingNode]
public sealed record Review(int Id, string Customer, decimal Total) : Route
{
    /// <inheritdoc/>
    public override ValueTask<Shipped> RunAsync(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Blocking on purpose, in short slices so that cancellation is noticed quickly.
        for (var slept = 0; slept < SampleTiming.Jitter(Id, 10, 30).TotalMilliseconds; slept += 5)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            Thread.Sleep(5);
        }

        if (CustomerDirectory.IsFlagged(Customer))
        {
            throw new InvalidOperationException($"order {Id}: fraud check failed for customer '{Customer}'");
        }

        return ValueTask.FromResult(new Shipped(Id, "reviewed"));
    }
}

/// <summary>The terminal node: the order has shipped.</summary>
/// <param name="Id">The order number.</param>
/// <param name="Route">How it was shipped.</param>
public sealed record Shipped(int Id, string Route) : INode;

/// <summary>A customer's tier.</summary>
public enum CustomerTier
{
    /// <summary>An ordinary customer.</summary>
    Regular,

    /// <summary>A customer whose orders ship express.</summary>
    Gold,
}

/// <summary>The sample's dependency: looks up the tier of the run's customer (the start node's).</summary>
public sealed class CustomerTierLookup : IDependency<CustomerTier>
{
    /// <inheritdoc/>
    public ValueTask<CustomerTier> ResolveAsync(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return CustomerDirectory.LookupTierAsync(((Order)context.StartNode).Customer, context.CancellationToken);
    }
}

/// <summary>A stand-in for a remote customer service.</summary>
internal static class CustomerDirectory
{
    internal static readonly string[] Customers = ["ada", "grace", "linus", "barbara", "ken", "margaret", "dennis", "mallory"];

    public static async ValueTask<CustomerTier> LookupTierAsync(string customer, CancellationToken cancellationToken)
    {
        await Task.Delay(SampleTiming.Jitter(customer.Length, 3, 10), cancellationToken).ConfigureAwait(false);
        return customer is "ada" or "grace" or "barbara" ? CustomerTier.Gold : CustomerTier.Regular;
    }

    public static bool IsFlagged(string customer) => customer == "mallory";
}

/// <summary>Deterministic delays, so that two runs of the sample look alike.</summary>
internal static class SampleTiming
{
    public static TimeSpan Jitter(int key, int minMs, int maxMs)
        => TimeSpan.FromMilliseconds(minMs + (int)((uint)(key * 2654435761u) % (uint)(maxMs - minMs + 1)));
}

/// <summary>Generates the sample's inputs.</summary>
internal static class SampleInputs
{
    /// <summary>The default number of orders.</summary>
    public const int DefaultCount = 2000;

    /// <summary>Orders 1..count: every 25th has quantity 0 (fails in Order); every 8th customer is flagged (fails in Review if large).</summary>
    public static IEnumerable<Order> Generate(int count)
    {
        for (var id = 1; id <= count; id++)
        {
            var customer = CustomerDirectory.Customers[id % CustomerDirectory.Customers.Length];
            var quantity = id % 25 == 0 ? 0 : 1 + (id % 7);
            var unitPrice = id % 5 == 0 ? 250m : 19.5m + (id % 11);
            yield return new Order(id, customer, quantity, unitPrice);
        }
    }
}
