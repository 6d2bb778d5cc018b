using Dataflow.Storage;

namespace Dataflow.Extensions.Hosting;

/// <summary>
/// The stores the hosted engine writes history to (<see cref="DataflowBuilderExtensions.AddStore{TStore}"/>), as each
/// is opened with the engine: the hosted service disposes them once the engine has drained, and the health check
/// reports their writers.
/// </summary>
internal sealed class HostedStores
{
    private readonly List<HostedStore> _stores = [];

    public IReadOnlyList<HostedStore> All
    {
        get
        {
            lock (_stores)
            {
                return [.. _stores];
            }
        }
    }

    public void Add(HostedStore store)
    {
        lock (_stores)
        {
            _stores.Add(store);
        }
    }
}

/// <summary>One opened store: its sink's name, the store to dispose, and its writer's health when it reports one.</summary>
internal sealed record HostedStore(string Name, IAsyncDisposable Store, Func<BatchWriterHealth>? Health);

/// <summary>A store registered with <see cref="DataflowBuilderExtensions.AddStore{TStore}"/>, by its type.</summary>
internal sealed record StoreDescriptor(Type StoreType, string Name);
