using System.Net;
using System.Reflection;
using Dataflow.Dashboard.Pages;
using Dataflow.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dataflow.Dashboard.Http;

/// <summary>
/// The dashboard's endpoints. Every request: security headers first (a content security policy that allows only
/// this app's own script and style, no framing, no sniffing), then the checks (query size, the Host header when bound
/// to loopback, same-origin for the one POST), then the page. A refused request gets its 4xx status and a plain-text
/// message; an unexpected failure gets 500 with a plain sentence and is logged, never a stack trace in the response.
/// Only gate answers in a live batch change anything; every other endpoint reads.
/// </summary>
internal sealed class DashboardApp : IDisposable
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Lazy<byte[]> Css = new(() => Resource("dashboard.css"));
    private static readonly Lazy<byte[]> Script = new(() => Resource("dashboard.js"));

    private readonly string _prefix;
    private readonly bool _loopbackHostsOnly;
    private readonly Lock _storeGate = new();
    private SessionHistory? _store;
    private bool _disposed;

    public DashboardApp(DashboardOptions options, string prefix, bool loopbackHostsOnly)
    {
        Options = options.Validated();
        _prefix = prefix.TrimEnd('/');
        _loopbackHostsOnly = loopbackHostsOnly;
    }

    public DashboardOptions Options { get; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Maps every endpoint on <paramref name="group"/>.</summary>
    public void Map(IEndpointRouteBuilder group)
    {
        group.MapGet("/", Page(SessionsPage.WriteAsync));
        group.MapGet("/sessions/{session}", Page(RunsPage.WriteAsync));
        group.MapGet("/sessions/{session}/runs/{run}", Page(RunPage.WriteAsync));
        group.MapGet("/search", Page(SearchPage.WriteAsync));
        group.MapGet("/graph", Page(GraphPage.WriteAsync));
        group.MapGet("/live", Page(LivePage.WriteAsync));
        group.MapGet("/live/stream", Page(LivePage.StreamAsync));
        group.MapPost("/live/gates/{gate}", Page(LivePage.AnswerAsync));
        group.MapGet("/assets/dashboard.css", Page((_, context) => Asset(context, Css.Value, "text/css; charset=utf-8")));
        group.MapGet("/assets/dashboard.js", Page((_, context) => Asset(context, Script.Value, "text/javascript; charset=utf-8")));
    }

    /// <summary>The path that links start with for this request.</summary>
    public string BasePath(HttpContext context) => context.Request.PathBase.Value + _prefix;

    /// <summary>
    /// The store, read-only, opened by the first request that finds it and kept (thread-safe, pooled connections)
    /// until <see cref="Dispose"/>. A store that does not exist yet is looked for again by the next request.
    /// </summary>
    public SessionHistory Store()
    {
        if (Volatile.Read(ref _store) is { } open)
        {
            return open;
        }

        lock (_storeGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_store is not null)
            {
                return _store;
            }

            try
            {
                return _store = SessionHistory.Open(Options.StorePath);
            }
            catch (FileNotFoundException)
            {
                throw new RequestProblem(StatusCodes.Status503ServiceUnavailable, $"There is no store at '{Options.StorePath}' yet: run a batch first (dataflow run), or point the dashboard at an existing store.");
            }
        }
    }

    /// <summary>Releases the store (and the side files reading made, when nobody else uses them).</summary>
    public void Dispose()
    {
        lock (_storeGate)
        {
            _disposed = true;
            _store?.Dispose();
            _store = null;
        }
    }

    /// <summary>A token that ends when the request is aborted or the application stops (ends server-sent event streams).</summary>
    public static CancellationToken Stopping(HttpContext context)
        => context.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;

    public static async Task ProblemAsync(HttpContext context, int status, string message)
    {
        context.Response.Clear();
        Secure(context.Response);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message + "\n", context.RequestAborted).ConfigureAwait(false);
    }

    private static void Secure(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-store";
    }

    private static Task Asset(HttpContext context, byte[] content, string type)
    {
        context.Response.ContentType = type;
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.ContentLength = content.Length;
        return context.Response.Body.WriteAsync(content, context.RequestAborted).AsTask();
    }

    private static byte[] Resource(string name)
    {
        using var stream = typeof(DashboardApp).Assembly.GetManifestResourceStream("Dataflow.Dashboard." + name)
            ?? throw new InvalidOperationException($"The dashboard's embedded resource {name} is missing from {typeof(DashboardApp).Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private RequestDelegate Page(Func<DashboardApp, HttpContext, Task> handler) => async context =>
    {
        Secure(context.Response);
        try
        {
            CheckHost(context.Request);
            RequestValues.CheckQuery(context.Request);
            await handler(this, context).ConfigureAwait(false);
        }
        catch (RequestProblem problem) when (!context.Response.HasStarted)
        {
            await ProblemAsync(context, problem.Status, problem.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || Stopping(context).IsCancellationRequested)
        {
            // The browser went away, or the application stops: nothing to answer.
        }
        catch (StoreException e) when (!context.Response.HasStarted)
        {
            Log(context, e);
            await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, $"The store cannot be read: {e.Message}").ConfigureAwait(false);
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            // The boundary: logged with its trace for the operator, a plain sentence for the browser.
            Log(context, e);
            await ProblemAsync(context, StatusCodes.Status500InternalServerError, "The dashboard failed to answer this request; the application's log has the details.").ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log(context, e);
            context.Abort();
        }
    };

    /// <summary>Bound to loopback, the dashboard answers only to a loopback Host, so that a web page cannot reach it through DNS rebinding.</summary>
    private void CheckHost(HttpRequest request)
    {
        if (!_loopbackHostsOnly)
        {
            return;
        }

        var host = request.Host.Host;
        if (host is "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address)))
        {
            return;
        }

        throw new RequestProblem(StatusCodes.Status421MisdirectedRequest, $"The Host header '{RequestValues.Shorten(request.Host.Value ?? string.Empty)}' is not a loopback address; open the dashboard at 127.0.0.1 or localhost.");
    }

    private void Log(HttpContext context, Exception exception)
        => (Options.Logger ?? context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("Dataflow.Dashboard"))
            ?.LogError(exception, "The dashboard failed on {Method} {Path}", context.Request.Method, context.Request.Path.Value);
}
