using System.Collections.Immutable;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtelPower.Sampling;
using OtelPower.Attribution;

namespace OtelPower.Agent.Containers;

/// <summary>
/// Names Docker and Podman containers outside Kubernetes: polls the engine's Docker-compatible API
/// (<c>GET /containers/json</c>) over its Unix socket and keeps an immutable id -> name map. Podman serves
/// the same API on its own socket. Sockets that do not exist are skipped; an engine that stops answering
/// keeps the last names and is logged at most once a minute.
/// </summary>
internal sealed partial class ContainerEngineNames : BackgroundService
{
    public static readonly IReadOnlyList<string> DefaultSockets = ["/var/run/docker.sock", "/run/podman/podman.sock"];

    private readonly IReadOnlyList<string> _sockets;
    private readonly TimeSpan _period;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ContainerEngineNames> _logger;
    private readonly LogRateLimiter _failures;
    private ImmutableDictionary<string, ContainerMetadata> _current = ImmutableDictionary<string, ContainerMetadata>.Empty;

    public ContainerEngineNames(IReadOnlyList<string> sockets, TimeSpan period, TimeProvider timeProvider, ILogger<ContainerEngineNames> logger)
    {
        _sockets = sockets;
        _period = period;
        _timeProvider = timeProvider;
        _logger = logger;
        _failures = new LogRateLimiter(timeProvider, TimeSpan.FromMinutes(1));
    }

    /// <summary>Container id (64 hex) to its engine name, as of the last poll.</summary>
    public ImmutableDictionary<string, ContainerMetadata> Current => Volatile.Read(ref _current);

    /// <summary>Kubernetes names win; engine names fill in containers Kubernetes does not know.</summary>
    public static ImmutableDictionary<string, ContainerMetadata> Merge(
        ImmutableDictionary<string, ContainerMetadata> kubernetes, ImmutableDictionary<string, ContainerMetadata> engine) =>
        engine.IsEmpty ? kubernetes : kubernetes.IsEmpty ? engine : engine.SetItems(kubernetes);

    /// <summary>Polls every socket once; public for tests.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var names = ImmutableDictionary.CreateBuilder<string, ContainerMetadata>(StringComparer.Ordinal);
        foreach (var socket in _sockets.Where(File.Exists))
        {
            try
            {
                using var client = CreateClient(socket);
                var containers = await client.GetFromJsonAsync("/containers/json", EngineJsonContext.Default.EngineContainerArray, cancellationToken) ?? [];
                foreach (var container in containers)
                {
                    if (container.Id is { Length: 64 } id && container.Names is [var first, ..])
                    {
                        names[id] = new ContainerMetadata(null, null, first.TrimStart('/'), ContainerMetadata.NoLabels);
                    }
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or SocketException or System.Text.Json.JsonException or TaskCanceledException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                if (_failures.ShouldLog(out var suppressed))
                {
                    LogEngineFailed(_logger, socket, exception.Message, suppressed);
                }

                // Keep what this engine said last time rather than forget every name.
                foreach (var (id, metadata) in Current)
                {
                    names.TryAdd(id, metadata);
                }
            }
        }

        Volatile.Write(ref _current, names.ToImmutable());
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_sockets.Any(File.Exists))
        {
            return; // no engine on this host
        }

        using var timer = new PeriodicTimer(_period, _timeProvider);
        do
        {
            await RefreshAsync(stoppingToken);
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken token)
    {
        try
        {
            return await timer.WaitForNextTickAsync(token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static HttpClient CreateClient(string socket)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var connection = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await connection.ConnectAsync(new UnixDomainSocketEndPoint(socket), token);
                    return new NetworkStream(connection, ownsSocket: true);
                }
                catch
                {
                    connection.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://engine"), Timeout = TimeSpan.FromSeconds(5) };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Container engine at {Socket} did not answer ({Error}); keeping the names it gave last ({Suppressed} similar failures not logged since the last report)")]
    private static partial void LogEngineFailed(ILogger logger, string socket, string error, int suppressed);
}

/// <summary>The fields of the Docker API's container list that name a container.</summary>
internal sealed record EngineContainer(
    [property: JsonPropertyName("Id")] string? Id,
    [property: JsonPropertyName("Names")] string[]? Names);

[JsonSerializable(typeof(EngineContainer[]))]
internal sealed partial class EngineJsonContext : JsonSerializerContext;
