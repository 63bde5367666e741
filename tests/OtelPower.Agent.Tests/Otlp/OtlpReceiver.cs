using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace OtelPower.Agent.Tests.Otlp;

/// <summary>
/// A real OTLP metrics receiver for the tests: gRPC (HTTP/2 cleartext) and http/protobuf (POST /v1/metrics)
/// on loopback, decoding with the OTLP protobuf definitions. It binds port 0 and reports the ports it got;
/// it can be stopped and started again on those ports, to play a collector that goes away and comes back.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ExportMetricsServiceRequest> _requests = new();
    private readonly SemaphoreSlim _received = new(0);
    private WebApplication? _app;

    private OtlpReceiver()
    {
    }

    public int GrpcPort { get; private set; }

    public int HttpPort { get; private set; }

    public string GrpcEndpoint => $"http://127.0.0.1:{GrpcPort}";

    public string HttpEndpoint => $"http://127.0.0.1:{HttpPort}";

    public IReadOnlyList<ExportMetricsServiceRequest> Requests => _requests.ToArray();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver();
        await receiver.StartAgainAsync();
        return receiver;
    }

    /// <summary>Listens: on ports of the kernel's choosing the first time, on the same ports after a stop.</summary>
    public async Task StartAgainAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        ListenOptions? grpc = null, http = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, GrpcPort, o => (grpc = o).Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, HttpPort, o => (http = o).Protocols = HttpProtocols.Http1AndHttp2);
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        var app = builder.Build();
        app.MapGrpcService<MetricsServiceImplementation>();
        app.MapPost("/v1/metrics", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            Receive(ExportMetricsServiceRequest.Parser.ParseFrom(body.ToArray()));
            context.Response.ContentType = "application/x-protobuf";
            await context.Response.Body.WriteAsync(new ExportMetricsServiceResponse().ToByteArray());
        });
        await app.StartAsync();
        // Kestrel puts the endpoint it bound (the port the kernel chose for 0) back into the listen options.
        (GrpcPort, HttpPort) = (grpc!.IPEndPoint!.Port, http!.IPEndPoint!.Port);

        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>Every data point received for a metric, newest export last, with its resource attributes.</summary>
    public IReadOnlyList<ReceivedPoint> Points(string metricName) =>
        Requests.SelectMany(request => request.ResourceMetrics)
            .SelectMany(resource => resource.ScopeMetrics.SelectMany(scope => scope.Metrics.Where(m => m.Name == metricName)
                .SelectMany(metric => NumberDataPoints(metric).Select(point => new ReceivedPoint(metric, point, resource.Resource)))))
            .ToArray();

    // The full OTLP schema decodes histograms and summaries too; the agent exports none, and their points are not numbers.
    private static IEnumerable<NumberDataPoint> NumberDataPoints(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Sum => metric.Sum.DataPoints,
        Metric.DataOneofCase.Gauge => metric.Gauge.DataPoints,
        _ => [],
    };

    /// <summary>Checks the condition after each export that arrives (an event, not a poll).</summary>
    public async Task WaitForAsync(Func<OtlpReceiver, bool> condition, TimeSpan timeout, string what)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            while (!condition(this))
            {
                await _received.WaitAsync(limit.Token);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"timed out after {timeout} waiting for {what}; received {_requests.Count} exports");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _received.Dispose();
    }

    internal void Receive(ExportMetricsServiceRequest request)
    {
        _requests.Enqueue(request);
        _received.Release();
    }


    private sealed class MetricsServiceImplementation(OtlpReceiver receiver) : MetricsService.MetricsServiceBase
    {
        public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
        {
            receiver.Receive(request);
            return Task.FromResult(new ExportMetricsServiceResponse());
        }
    }
}

internal sealed record ReceivedPoint(Metric Metric, NumberDataPoint Point, Resource Resource)
{
    public double Value => Point.ValueCase == NumberDataPoint.ValueOneofCase.AsDouble ? Point.AsDouble : Point.AsInt;

    public string? Attribute(string key) => Find(Point.Attributes, key);

    public string? ResourceAttribute(string key) => Find(Resource.Attributes, key);

    private static string? Find(IEnumerable<KeyValue> attributes, string key)
    {
        var value = attributes.FirstOrDefault(a => a.Key == key)?.Value;
        return value?.ValueCase switch
        {
            AnyValue.ValueOneofCase.StringValue => value.StringValue,
            AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
            _ => null,
        };
    }
}
