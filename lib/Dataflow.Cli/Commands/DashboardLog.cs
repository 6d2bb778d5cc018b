using Microsoft.Extensions.Logging;

namespace Dataflow.Cli.Commands;

/// <summary>
/// The dashboard's failures on stderr, one <c>error: dashboard: ...</c> line each (the stack trace too with
/// <c>--verbose</c>): a served dashboard has no application log of its own, and its 500 page says to look in one.
/// </summary>
internal sealed class DashboardLog(CliConsole console) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var message = "dashboard: " + formatter(state, exception) + (exception is null ? string.Empty : ": " + exception.GetType().Name + ": " + exception.Message);
        lock (console.Error)
        {
            console.WriteError(message);
            if (console.Verbose && exception is not null)
            {
                console.Error.WriteLine(TerminalText.Escape(exception.ToString()));
            }

            console.Error.Flush();
        }
    }
}
