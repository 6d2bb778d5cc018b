using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dataflow.Cli.History;
using Dataflow.Cli.Loading;
using Dataflow.Dashboard;
using Dataflow.Graphs;

namespace Dataflow.Cli.Commands;

/// <summary>Where the dashboard listens: <c>--port</c> and <c>--address</c>, shared by <c>serve</c> and <c>run --serve</c>.</summary>
internal sealed record ServeSettings(int Port, string Address)
{
    /// <summary>The port <c>serve</c> listens at unless <c>--port</c> says otherwise.</summary>
    public const int DefaultPort = 5180;

    public static Option<int> PortOption() => new("--port")
    {
        Description = FormattableString.Invariant($"The dashboard's TCP port (0: any free port; the address is printed)."),
        DefaultValueFactory = _ => DefaultPort,
    };

    public static Option<string> AddressOption() => new("--address")
    {
        Description = "The IP address the dashboard listens at. The default, 127.0.0.1, is this machine only; any other address makes every stored run readable from the network.",
        DefaultValueFactory = _ => "127.0.0.1",
        HelpName = "ip",
    };

    /// <summary>Checks the values; every problem is named.</summary>
    public IPEndPoint Endpoint(List<string> errors)
    {
        if (Port is < 0 or > 65_535)
        {
            errors.Add($"--port must be from 0 to 65535, was {Port}.");
        }

        var address = Address == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(Address, out var parsed) ? parsed : null;
        if (address is null)
        {
            errors.Add($"--address must be an IP address such as 127.0.0.1, ::1 or 0.0.0.0, was '{TerminalText.Escape(Address)}'.");
        }

        return new IPEndPoint(address ?? IPAddress.Loopback, Port is >= 0 and <= 65_535 ? Port : 0);
    }

    /// <summary>Starts the dashboard and prints where it is; a non-loopback address is announced loudly on stderr.</summary>
    public async Task<DashboardServer> StartAsync(CliConsole console, IPEndPoint endpoint, DashboardOptions options, CancellationToken cancellationToken)
    {
        if (!IPAddress.IsLoopback(endpoint.Address))
        {
            console.WriteWarning($"the dashboard listens at {endpoint.Address}, not at loopback: anyone who can reach this machine on port {endpoint.Port} can read every run in the store{(options.Live is null ? string.Empty : " and answer the batch's gates")}; there is no login.");
        }

        options.Logger ??= new DashboardLog(console);
        DashboardServer server;
        try
        {
            server = await DashboardServer.StartAsync(options, endpoint, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is SocketException or null)
        {
            throw new CliException($"cannot listen at {endpoint}: {TerminalText.Escape(e.Message)}; choose another --port (0 picks a free one).", e);
        }
        catch (SocketException e)
        {
            throw new CliException($"cannot listen at {endpoint}: {TerminalText.Escape(e.Message)}; choose another --port or --address.", e);
        }

        await console.Output.WriteLineAsync($"dashboard: {server.Address}").ConfigureAwait(false);
        await console.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return server;
    }
}

/// <summary><c>dataflow serve</c>: the web dashboard over a store, until Ctrl+C.</summary>
internal static class ServeCommand
{
    public static Command Create(CliConsole console, Interruption interruption)
    {
        var port = ServeSettings.PortOption();
        var address = ServeSettings.AddressOption();
        var assembly = new Option<string>("--assembly", "-a") { Description = "A compiled assembly holding the graph to draw on the graph page; the sample's graph when absent.", HelpName = "path.dll" };
        var start = new Option<string>("--start", "-s") { Description = "The start node type in --assembly.", HelpName = "NodeType" };
        var db = Cli.DatabaseOption();
        var command = new Command("serve", "Serve a web dashboard of the store at http://127.0.0.1:" + ServeSettings.DefaultPort.ToString(CultureInfo.InvariantCulture) + "/ (read-only): sessions, runs, timelines, search, the graph. Ctrl+C stops it (exit code 0).")
        {
            db, port, address, assembly, start,
        };
        command.SetAction((parse, cancellationToken) => ExecuteAsync(
            console,
            parse.GetValue(db)!,
            new ServeSettings(parse.GetValue(port), parse.GetValue(address)!),
            parse.GetValue(assembly),
            parse.GetValue(start),
            interruption,
            cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CliConsole console, string database, ServeSettings settings, string? assembly, string? start, Interruption interruption, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        CliPaths.Check(errors, "--db", database);
        var endpoint = settings.Endpoint(errors);
        if (errors.Count > 0)
        {
            throw new CliException(errors);
        }

        // The store must exist and be ours before anything listens; pages open it read-only for each request.
        if (HistoryStores.IsPostgres(database))
        {
            throw new CliException("serve reads SQLite stores only for now: give a SQLite --db; the read commands (search, recent, sessions, show) work on PostgreSQL.");
        }

        HistoryStores.OpenForRead(database).Dispose();
        var graph = GraphSource.Resolve(assembly, start).CreateGraph(new GraphOptions());
        var options = new DashboardOptions { StorePath = database };
        options.Graphs.Add(graph);

        // Serving ends with the first signal; that is the normal way to stop, so it exits 0.
        interruption.StopGracefully("stopping the dashboard; press Ctrl+C again to exit at once.");
        var server = await settings.StartAsync(console, endpoint, options, cancellationToken).ConfigureAwait(false);
        await using (server.ConfigureAwait(false))
        {
            await console.Output.WriteLineAsync("serving until Ctrl+C.").ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await console.Output.WriteLineAsync("dashboard stopped.").ConfigureAwait(false);
            }
        }

        return ExitCodes.Success;
    }
}
