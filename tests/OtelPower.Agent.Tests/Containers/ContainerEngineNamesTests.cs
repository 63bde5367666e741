using System.Collections.Immutable;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using OtelPower.Agent.Containers;
using OtelPower.Attribution;

namespace OtelPower.Agent.Tests.Containers;

public sealed class ContainerEngineNamesTests : IAsyncLifetime
{
    private static readonly string Web = new('a', 64);
    private static readonly string Db = new('b', 64);
    private readonly TemporaryDirectory _directory = new();
    private WebApplication? _engine;
    private string _answer = "[]";

    private string Socket => Path.Combine(_directory.Path, "docker.sock");

    public async Task InitializeAsync() => await StartEngineAsync();

    public async Task DisposeAsync()
    {
        await StopEngineAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Names_come_from_the_engine_socket()
    {
        _answer = $$"""[{"Id":"{{Web}}","Names":["/web"],"Image":"nginx"},{"Id":"{{Db}}","Names":["/db","/db-alias"]},{"Id":"short","Names":["/odd"]}]""";
        var names = new ContainerEngineNames([Socket, Path.Combine(_directory.Path, "podman.sock")], TimeSpan.FromSeconds(10), TimeProvider.System, NullLogger<ContainerEngineNames>.Instance);

        await names.RefreshAsync(CancellationToken.None);

        Assert.Equal("web", names.Current[Web].ContainerName);
        Assert.Equal("db", names.Current[Db].ContainerName);
        Assert.Equal(2, names.Current.Count); // a malformed id is ignored; the missing podman socket is skipped
    }

    [Fact]
    public async Task An_engine_that_stops_answering_keeps_the_last_names_and_says_so_once()
    {
        _answer = $$"""[{"Id":"{{Web}}","Names":["/web"]}]""";
        var log = new FakeLogger<ContainerEngineNames>();
        var names = new ContainerEngineNames([Socket], TimeSpan.FromSeconds(10), TimeProvider.System, log);
        await names.RefreshAsync(CancellationToken.None);

        await StopEngineAsync();
        await File.WriteAllTextAsync(Socket, string.Empty); // the socket path exists but nothing listens
        await names.RefreshAsync(CancellationToken.None);
        await names.RefreshAsync(CancellationToken.None);

        Assert.Equal("web", names.Current[Web].ContainerName);
        Assert.Single(log.Collector.GetSnapshot(), r => r.Message.Contains(Socket, StringComparison.Ordinal));
    }

    [Fact]
    public void Kubernetes_names_win_over_engine_names()
    {
        var kubernetes = ImmutableDictionary<string, ContainerMetadata>.Empty.Add(Web, new ContainerMetadata("web-7d9f", "shop", "nginx", ContainerMetadata.NoLabels));
        var engine = ImmutableDictionary<string, ContainerMetadata>.Empty
            .Add(Web, new ContainerMetadata(null, null, "k8s_nginx_web-7d9f", ContainerMetadata.NoLabels))
            .Add(Db, new ContainerMetadata(null, null, "db", ContainerMetadata.NoLabels));

        var merged = ContainerEngineNames.Merge(kubernetes, engine);

        Assert.Equal("nginx", merged[Web].ContainerName);
        Assert.Equal("shop", merged[Web].Namespace);
        Assert.Equal("db", merged[Db].ContainerName);
        Assert.Same(kubernetes, ContainerEngineNames.Merge(kubernetes, ImmutableDictionary<string, ContainerMetadata>.Empty));
    }

    private async Task StartEngineAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(Socket));
        var app = builder.Build();
        app.MapGet("/containers/json", (HttpContext context) => Results.Text(_answer, "application/json"));
        await app.StartAsync();
        _engine = app;
    }

    private async Task StopEngineAsync()
    {
        if (_engine is not null)
        {
            await _engine.StopAsync();
            await _engine.DisposeAsync();
            _engine = null;
        }
    }
}
