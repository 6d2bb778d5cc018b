using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Dataflow.Dashboard.Tests;

/// <summary>What a dashboard logged (its <see cref="DashboardOptions.Logger"/>): each entry with its exception, for the test that made it to read.</summary>
internal sealed class FailureLog : ILogger
{
    private readonly ConcurrentQueue<string> _entries = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => _entries.Enqueue($"{logLevel}: {formatter(state, exception)}{(exception is null ? string.Empty : Environment.NewLine + exception)}");

    /// <summary>The entries logged since the last call, oldest first.</summary>
    public IReadOnlyList<string> Drain()
    {
        var drained = new List<string>();
        while (_entries.TryDequeue(out var entry))
        {
            drained.Add(entry);
        }

        return drained;
    }
}
