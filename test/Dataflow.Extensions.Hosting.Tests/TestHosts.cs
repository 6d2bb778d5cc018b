using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dataflow.Extensions.Hosting.Tests;

internal static class TestHosts
{
    /// <summary>Generous: only a guard against a hang, never a wait for something to happen.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    /// <summary>A real generic host without the defaults' files, environment and console logging.</summary>
    public static IHost Build(Action<HostApplicationBuilder> configure, CapturingLoggerProvider? logs = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
        }

        configure(builder);
        return builder.Build();
    }
}
