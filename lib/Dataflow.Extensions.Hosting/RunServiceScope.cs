using Microsoft.Extensions.DependencyInjection;

namespace Dataflow.Extensions.Hosting;

/// <summary>
/// The services of one run: a service scope, made as the run is submitted (<c>GraphEngineOptions.RunServices</c>)
/// and disposed by the engine when the run ends, with every scoped and transient disposable it created.
/// </summary>
internal sealed class RunServiceScope(AsyncServiceScope scope) : IServiceProvider, IAsyncDisposable
{
    public object? GetService(Type serviceType) => scope.ServiceProvider.GetService(serviceType);

    public ValueTask DisposeAsync() => scope.DisposeAsync();
}
