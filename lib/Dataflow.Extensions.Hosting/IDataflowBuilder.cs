using Microsoft.Extensions.DependencyInjection;

namespace Dataflow.Extensions.Hosting;

/// <summary>Registers graphs and event sinks for the engine that <c>AddDataflow</c> registered.</summary>
public interface IDataflowBuilder
{
    /// <summary>The services the engine is registered in.</summary>
    IServiceCollection Services { get; }
}

internal sealed class DataflowBuilder(IServiceCollection services) : IDataflowBuilder
{
    public IServiceCollection Services { get; } = services;
}
