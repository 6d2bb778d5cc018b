using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Dataflow.Extensions.Hosting.Tests;

public sealed record LogRecord(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> Properties);

/// <summary>Keeps every record with its structured properties.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogRecord> _records = new();

    public IReadOnlyList<LogRecord> Records => [.. _records];

    /// <summary>Called on the logging thread with each record, as it is logged.</summary>
    public Action<LogRecord>? OnRecord { get; set; }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, CapturingLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
            => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.ToDictionary(p => p.Key, p => p.Value)
                : [];
            var record = new LogRecord(category, logLevel, eventId, formatter(state, exception), properties);
            provider._records.Enqueue(record);
            provider.OnRecord?.Invoke(record);
        }
    }
}
