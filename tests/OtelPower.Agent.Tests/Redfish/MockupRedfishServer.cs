using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OtelPower.Agent.Tests.Redfish;

/// <summary>
/// Serves DMTF's public-rackmount1 mockup (<c>../shared/peer-fixtures/redfish</c>) over HTTP on a port the OS
/// picks: <c>/redfish/v1/X</c> answers the mockup's <c>X/index.json</c>, with the chassis power the test sets,
/// behind basic authentication.
/// </summary>
internal sealed class MockupRedfishServer : IAsyncDisposable
{
    public static readonly string Mockup = Deployment.Tests.RepositoryRoot.Combine("..", "shared", "peer-fixtures", "redfish", "public-rackmount1");

    private readonly WebApplication _app;
    private readonly string _authorization;

    private MockupRedfishServer(WebApplication app, string authorization)
    {
        _app = app;
        _authorization = authorization;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>EnvironmentMetrics.PowerWatts.Reading; the mockup's own is 374 W.</summary>
    public double PowerWatts { get; set; } = 374;

    public ConcurrentQueue<(string Path, bool Authorized)> Requests { get; } = new();

    public static async Task<MockupRedfishServer> StartAsync(string user, string password)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new MockupRedfishServer(app, "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}")));
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.BaseAddress = new Uri(address);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value!.TrimEnd('/');
        var authorized = string.Equals(context.Request.Headers.Authorization.ToString(), _authorization, StringComparison.Ordinal);
        Requests.Enqueue((path, authorized));
        if (!authorized)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var file = Path.Combine(Mockup, path.StartsWith("/redfish/v1", StringComparison.Ordinal) ? path["/redfish/v1".Length..].TrimStart('/') : "missing", "index.json");
        if (!File.Exists(file))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var json = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
        if (path.EndsWith("/EnvironmentMetrics", StringComparison.Ordinal))
        {
            json["PowerWatts"]!["Reading"] = PowerWatts;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json.ToJsonString());
    }
}
