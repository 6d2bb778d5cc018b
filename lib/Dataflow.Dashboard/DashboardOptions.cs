using Dataflow.Graphs;
using Microsoft.Extensions.Logging;

namespace Dataflow.Dashboard;

/// <summary>What the dashboard shows: a store, the graphs to draw, and optionally a live batch.</summary>
public sealed class DashboardOptions
{
    /// <summary>The most runs one page may list.</summary>
    public const int MaxPageSize = 1_000;

    /// <summary>The session store file to read (opened read-only for each request, so it may be written meanwhile or appear later).</summary>
    /// <value>The default value is <c>dataflow.db</c>.</value>
    public string StorePath { get; set; } = "dataflow.db";

    /// <summary>How many runs a page of a session lists, from 1 to <see cref="MaxPageSize"/>.</summary>
    /// <value>The default value is 50.</value>
    public int PageSize { get; set; } = 50;

    /// <summary>The graphs the graph page draws.</summary>
    /// <value>The default value is an empty list.</value>
    public IList<Graph> Graphs { get; } = [];

    /// <summary>A batch running in this process: its progress, throughput, latencies and the gates it waits at, which the page lets a user answer.</summary>
    /// <value>The default value is null: the dashboard is read-only.</value>
    public LiveBatch? Live { get; set; }

    /// <summary>
    /// Where the dashboard reports each request it failed to answer (a 500, or a 503 for a store it cannot read),
    /// with the exception and the request's method and path; the browser only gets a plain sentence.
    /// </summary>
    /// <value>
    /// The default value is null: hosted with <c>MapDataflowDashboard</c>, the application's own logging (category
    /// <c>Dataflow.Dashboard</c>); on a <see cref="DashboardServer"/>, which has no logging of its own, nowhere.
    /// </value>
    public ILogger? Logger { get; set; }

    /// <summary>Checks the options and copies them, so that later edits change nothing.</summary>
    internal DashboardOptions Validated()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(StorePath))
        {
            problems.Add("StorePath must name the session store file.");
        }

        if (PageSize is < 1 or > MaxPageSize)
        {
            problems.Add($"PageSize must be from 1 to {MaxPageSize}, was {PageSize}.");
        }

        if (Graphs.Any(g => g is null))
        {
            problems.Add("Graphs must not hold null.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid dashboard options: " + string.Join(" ", problems));
        }

        var copy = new DashboardOptions { StorePath = Path.GetFullPath(StorePath), PageSize = PageSize, Live = Live, Logger = Logger };
        foreach (var graph in Graphs)
        {
            copy.Graphs.Add(graph);
        }

        return copy;
    }
}
