using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtelPower.Agent.Kubernetes.Api;

namespace OtelPower.Agent.Tests.Kubernetes;

/// <summary>
/// A plain-HTTP stand-in for the API server's <c>GET /api/v1/pods</c>, list and watch, that the agent's
/// <see cref="OtelPower.Agent.Kubernetes.PodApiClient"/> talks to. Each list and each watch request takes the next scripted answer; the last list
/// answer repeats, and once the watch script runs out a watch stays open without events.
/// </summary>
internal sealed class FakeKubernetesApiServer : IAsyncDisposable
{
    public const string Token = "fake-token";

    private readonly ConcurrentQueue<Func<HttpResponse, Task>> lists = new();
    private readonly ConcurrentQueue<Func<HttpResponse, CancellationToken, Task>> watches = new();
    private readonly ConcurrentQueue<RecordedRequest> requests = new();
    private Func<HttpResponse, Task>? lastList;
    private WebApplication? app;

    private FakeKubernetesApiServer()
    {
    }

    /// <summary>The port it listens on: the kernel's choice, kept across a stop and a restart.</summary>
    public int Port { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public IReadOnlyList<RecordedRequest> Requests => [.. requests];

    public IReadOnlyList<RecordedRequest> ListRequests => [.. requests.Where(r => !r.IsWatch)];

    public IReadOnlyList<RecordedRequest> WatchRequests => [.. requests.Where(r => r.IsWatch)];

    /// <summary>
    /// A server that listened on a port of the kernel's choosing and went down: connections are refused
    /// until <see cref="ListenAsync"/> brings it back on that port, as an API server that restarts.
    /// </summary>
    public static async Task<FakeKubernetesApiServer> DownAsync()
    {
        FakeKubernetesApiServer server = await StartAsync();
        await server.StopAsync();
        return server;
    }

    public static async Task<FakeKubernetesApiServer> StartAsync()
    {
        var server = new FakeKubernetesApiServer();
        await server.ListenAsync();
        return server;
    }

    public async Task ListenAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, Port));
        WebApplication web = builder.Build();
        web.MapGet("/api/v1/pods", HandleAsync);
        await web.StartAsync();
        if (Port == 0)
        {
            Port = new Uri(web.Urls.Single()).Port;
        }

        app = web;
    }

    /// <summary>A list answered with this JSON as it is (a pod as a real API server writes it).</summary>
    public void EnqueueListJson(string json) => lists.Enqueue(response => WriteJsonAsync(response, json));

    /// <summary>Writes <c>DIRECTORY/kubeconfig</c>, pointing at this server with its token, and returns its path.</summary>
    public async Task<string> WriteKubeconfigAsync(string directory)
    {
        var kubeconfig = Path.Combine(directory, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters: [{"{"}name: fake, cluster: {"{"}server: "{BaseAddress}"{"}"}{"}"}]
            users: [{"{"}name: fake, user: {"{"}token: {Token}{"}"}{"}"}]
            contexts: [{"{"}name: fake, context: {"{"}cluster: fake, user: fake{"}"}{"}"}]
            current-context: fake
            """);
        return kubeconfig;
    }

    public void EnqueueList(V1PodList list) => lists.Enqueue(response => WriteJsonAsync(response, JsonSerializer.Serialize(list, KubernetesJsonContext.Default.V1PodList)));

    /// <summary>A watch that sends these lines and then ends normally.</summary>
    public void EnqueueWatch(params string[] lines) => EnqueueWatch(async (response, _) =>
    {
        foreach (string line in lines)
        {
            await WriteLineAsync(response, line);
        }
    });

    /// <summary>A watch scripted by the test; the server ends it when the script returns.</summary>
    public void EnqueueWatch(Func<HttpResponse, CancellationToken, Task> script) => watches.Enqueue(script);

    /// <summary>A watch refused with this status (e.g. 410 Gone for an expired resourceVersion).</summary>
    public void EnqueueWatchStatus(HttpStatusCode status) => watches.Enqueue(async (response, _) =>
    {
        response.StatusCode = (int)status;
        response.ContentType = "application/json";
        await response.WriteAsync(StatusJson(status));
    });

    public static string Event(string type, V1Pod pod) => $$"""{"type":"{{type}}","object":{{JsonSerializer.Serialize(pod, KubernetesJsonContext.Default.V1Pod)}}}""";

    public static string Bookmark(string resourceVersion) =>
        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" + resourceVersion + "\"}}}";

    public static string ErrorEvent(HttpStatusCode status) => $$"""{"type":"ERROR","object":{{StatusJson(status)}}}""";

    public static async Task WriteLineAsync(HttpResponse response, string line)
    {
        await response.WriteAsync(line + "\n");
        await response.Body.FlushAsync();
    }

    public static async Task HoldOpenAsync(CancellationToken aborted)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, aborted);
        }
        catch (OperationCanceledException)
        {
            // The client went away or the server stops.
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task StopAsync()
    {
        if (app is not null)
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(limit.Token);
            await app.DisposeAsync();
            app = null;
        }
    }

    private static string StatusJson(HttpStatusCode status) =>
        $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version","reason":"Expired","code":{{(int)status}}}""";

    private static async Task WriteJsonAsync(HttpResponse response, string json)
    {
        response.ContentType = "application/json";
        await response.WriteAsync(json);
    }

    private async Task HandleAsync(HttpContext context)
    {
        IQueryCollection query = context.Request.Query;
        var recorded = new RecordedRequest(
            IsWatch: string.Equals(query["watch"], "true", StringComparison.OrdinalIgnoreCase),
            FieldSelector: query["fieldSelector"].ToString(),
            ResourceVersion: query["resourceVersion"].ToString(),
            AllowWatchBookmarks: query["allowWatchBookmarks"].ToString(),
            Authorization: context.Request.Headers.Authorization.ToString());
        requests.Enqueue(recorded);

        if (!recorded.IsWatch)
        {
            if (lists.TryDequeue(out Func<HttpResponse, Task>? list))
            {
                lastList = list;
            }

            await (lastList ?? (r => WriteJsonAsync(r, """{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}""")))(context.Response);
            return;
        }

        // A watch ends when the client goes or the server stops: the client library does not always close
        // a watch it gave up on, and Kestrel would wait for it on shutdown.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(
            context.RequestAborted, context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
        context.Response.ContentType = "application/json";
        if (watches.TryDequeue(out Func<HttpResponse, CancellationToken, Task>? watch))
        {
            await watch(context.Response, ended.Token);
            return;
        }

        await context.Response.StartAsync();
        await HoldOpenAsync(ended.Token);
    }

    internal sealed record RecordedRequest(bool IsWatch, string FieldSelector, string ResourceVersion, string AllowWatchBookmarks, string Authorization);
}
