using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace OtelPower.Agent.Exporters.Prometheus;

/// <summary>
/// The agent's <c>/metrics</c>: a small HTTP/1.1 server on a socket of its own, backed by a pull reader on
/// the agent's MeterProvider. Each scrape collects once and sends the page; scrapes are served one at a
/// time, so the page buffer is reused. Port 0 takes a port from the OS, and the log line says which.
/// </summary>
/// <remarks>
/// Our own socket rather than HttpListener: it binds port 0 and reports it, costs one buffer instead of
/// two text caches, and leaves System.Net.HttpListener out of the executable. It speaks the part of HTTP a
/// scraper and a probe use: GET or HEAD of /metrics, one request per connection.
/// </remarks>
internal sealed partial class PrometheusEndpoint : IHostedService, IDisposable
{
    public const string MetricsPath = "/metrics";

    private const int MaxRequestHeadBytes = 8 * 1024;
    private const int CollectTimeoutMilliseconds = 10_000;
    private static readonly TimeSpan ConnectionTimeout = TimeSpan.FromSeconds(30);

    private readonly string _host;
    private readonly int _port;
    private readonly ILogger _logger;
    private readonly PrometheusScrapeExporter _exporter = new();
    private readonly SemaphoreSlim _scrapeGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private bool _disposed;

    public PrometheusEndpoint(string host, int port, ILogger<PrometheusEndpoint> logger)
    {
        _host = host;
        _port = port;
        _logger = logger;
        // Cumulative, as Prometheus expects; the MeterProvider owns (and disposes) the reader.
        Reader = new BaseExportingMetricReader(_exporter) { TemporalityPreference = MetricReaderTemporalityPreference.Cumulative };
    }

    /// <summary>The reader to add to the MeterProvider.</summary>
    public MetricReader Reader { get; }

    /// <summary>Where the endpoint listens, once started (the OS's port when 0 was asked for).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = Listen(_host, _port);
        LogListening(_logger, FormatEndPoint(LocalEndPoint!), MetricsPath);
        _acceptLoop = AcceptLoopAsync(_listener, _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        _listener?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// Idempotent: the container disposes the endpoint once as a singleton and once as the hosted service it
    /// also is, and a second dispose that threw would hide why the host failed to start.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping.Cancel();
        _listener?.Dispose();
        _stopping.Dispose();
        _scrapeGate.Dispose();
        _exporter.Dispose();
    }

    /// <summary>Binds and listens; "*" or "+" is every interface (IPv6 and IPv4 where the host has IPv6).</summary>
    private static Socket Listen(string host, int port)
    {
        var wildcard = host is "*" or "+" or "";
        var address = wildcard ? (Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any)
            : host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(host.Trim('[', ']'), out var parsed) ? parsed
            : null;
        try
        {
            address ??= Dns.GetHostAddresses(host).FirstOrDefault()
                ?? throw new IOException($"the Prometheus endpoint cannot listen on {host}: the name has no address");
            try
            {
                return Bind(address, port);
            }
            catch (SocketException exception) when (wildcard && address.Equals(IPAddress.IPv6Any) && exception.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.AddressNotAvailable)
            {
                // IPv6 switched off in this kernel or namespace: every IPv4 interface instead.
                return Bind(IPAddress.Any, port);
            }
        }
        catch (SocketException exception)
        {
            throw new IOException($"the Prometheus endpoint cannot listen on {host}:{port.ToString(CultureInfo.InvariantCulture)}: {exception.Message}", exception);
        }
    }

    private static Socket Bind(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(64);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stopping);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException exception)
            {
                // Out of descriptors, say: the listener stays; try again shortly rather than spin.
                LogAcceptFailed(_logger, exception.SocketErrorCode);
                await Task.Delay(TimeSpan.FromMilliseconds(100), stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            _ = ServeAsync(client, stopping);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(ConnectionTimeout);
        var head = ArrayPool<byte>.Shared.Rent(MaxRequestHeadBytes);
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: true);
            var request = await ReadRequestLineAsync(stream, head, timeout.Token);
            if (request is not { } line)
            {
                await RespondAsync(stream, "400 Bad Request", "a request line and headers of at most 8 KiB, ending in an empty line\n", head: false, timeout.Token);
                return;
            }

            if (line.Path != MetricsPath)
            {
                await RespondAsync(stream, "404 Not Found", $"metrics are at {MetricsPath}\n", line.IsHead, timeout.Token);
                return;
            }

            if (!line.IsGet && !line.IsHead)
            {
                await RespondAsync(stream, "405 Method Not Allowed", "GET or HEAD\n", head: false, timeout.Token);
                return;
            }

            await _scrapeGate.WaitAsync(timeout.Token);
            try
            {
                // Runs the observable callbacks and this reader's exporter here, synchronously.
                if (!_exporter.TryScrape(Reader, CollectTimeoutMilliseconds))
                {
                    await RespondAsync(stream, "503 Service Unavailable", "the metrics could not be collected\n", line.IsHead, timeout.Token);
                    return;
                }

                var page = _exporter.Page.Written;
                await stream.WriteAsync(Header("200 OK", PrometheusTextSerializer.ContentType, page.Length), timeout.Token);
                if (!line.IsHead)
                {
                    await stream.WriteAsync(page, timeout.Token);
                }
            }
            finally
            {
                _scrapeGate.Release();
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // A scraper that hung up or stalled: its connection goes, the next scrape is unaffected.
            LogConnectionDropped(_logger, exception.GetType().Name);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    /// <summary>Reads up to the blank line that ends the request head and returns its request line; null when malformed or too long.</summary>
    private static async Task<RequestLine?> ReadRequestLineAsync(NetworkStream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        while (length < MaxRequestHeadBytes)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length, MaxRequestHeadBytes - length), cancellationToken);
            if (read == 0)
            {
                return null;
            }

            length += read;
            var head = buffer.AsSpan(0, length);
            if (head.IndexOf("\r\n\r\n"u8) >= 0)
            {
                return RequestLine.TryParse(head[..head.IndexOf("\r\n"u8)]);
            }
        }

        return null;
    }

    private static async Task RespondAsync(NetworkStream stream, string status, string body, bool head, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        await stream.WriteAsync(Header(status, "text/plain; charset=utf-8", bytes.Length), cancellationToken);
        if (!head)
        {
            await stream.WriteAsync(bytes, cancellationToken);
        }
    }

    private static byte[] Header(string status, string contentType, int contentLength) =>
        Encoding.ASCII.GetBytes(string.Create(
            CultureInfo.InvariantCulture,
            $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {contentLength}\r\nConnection: close\r\n\r\n"));

    private static string FormatEndPoint(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6
            ? $"[{endPoint.Address}]:{endPoint.Port.ToString(CultureInfo.InvariantCulture)}"
            : $"{endPoint.Address}:{endPoint.Port.ToString(CultureInfo.InvariantCulture)}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Prometheus endpoint listening on http://{EndPoint}{Path}")]
    private static partial void LogListening(ILogger logger, string endPoint, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The Prometheus endpoint could not accept a connection ({Error}); it keeps listening")]
    private static partial void LogAcceptFailed(ILogger logger, SocketError error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A Prometheus scrape connection was dropped ({Reason})")]
    private static partial void LogConnectionDropped(ILogger logger, string reason);

    /// <summary>The method and path (without query) of an HTTP/1.x request line.</summary>
    private readonly record struct RequestLine(string Method, string Path)
    {
        public bool IsGet => Method == "GET";

        public bool IsHead => Method == "HEAD";

        public static RequestLine? TryParse(ReadOnlySpan<byte> line)
        {
            var firstSpace = line.IndexOf((byte)' ');
            if (firstSpace <= 0)
            {
                return null;
            }

            var rest = line[(firstSpace + 1)..];
            var secondSpace = rest.IndexOf((byte)' ');
            if (secondSpace <= 0 || !rest[(secondSpace + 1)..].StartsWith("HTTP/1."u8))
            {
                return null;
            }

            var target = rest[..secondSpace];
            var query = target.IndexOf((byte)'?');
            if (query >= 0)
            {
                target = target[..query];
            }

            return new RequestLine(Encoding.ASCII.GetString(line[..firstSpace]), Encoding.ASCII.GetString(target));
        }
    }
}
