using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OtelPower.Agent.Exporters.Prometheus;

namespace OtelPower.Agent.Tests.Prometheus;

/// <summary>The agent's own /metrics server and text serializer, in process, on port 0.</summary>
public sealed class PrometheusEndpointTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    // A meter name of this test's own: a MeterProvider listens by name, and other tests' meters must not reach it.
    private readonly Meter _meter = new($"PrometheusEndpointTests.{Guid.NewGuid():N}", "2.1.0");
    private readonly FakeLogger<PrometheusEndpoint> _logger = new();
    private readonly PrometheusEndpoint _endpoint;
    private readonly MeterProvider _provider;
    private readonly HttpClient _http = new();
    private double _watts = 2.5;

    public PrometheusEndpointTests()
    {
        _endpoint = new PrometheusEndpoint("localhost", 0, _logger);
        _provider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(resource => resource.Clear().AddService("svc \"quoted\"", serviceVersion: "9"))
            .AddMeter(_meter.Name)
            .AddReader(_endpoint.Reader)
            .Build()!;
    }

    private Uri MetricsUri => new($"http://127.0.0.1:{_endpoint.LocalEndPoint!.Port}/metrics");

    public async Task InitializeAsync() => await _endpoint.StartAsync(CancellationToken.None);

    public async Task DisposeAsync()
    {
        await _endpoint.StopAsync(CancellationToken.None);
        _provider.Dispose();
        _endpoint.Dispose();
        _meter.Dispose();
        _http.Dispose();
    }

    [Fact]
    public void Disposing_twice_is_harmless()
    {
        // The container disposes it as a singleton and again as a hosted service.
        using var endpoint = new PrometheusEndpoint("localhost", 0, _logger);
        endpoint.Dispose();
        endpoint.Dispose();
    }

    [Fact]
    public void Port_zero_takes_a_port_from_the_os_and_the_log_line_names_it()
    {
        var port = _endpoint.LocalEndPoint!.Port;
        Assert.NotEqual(0, port);
        Assert.Contains(_logger.Collector.GetSnapshot(), record => record.Message == $"Prometheus endpoint listening on http://127.0.0.1:{port}/metrics");
    }

    [Fact]
    public async Task A_scrape_renders_counters_and_gauges_with_units_scope_resource_and_escaped_labels()
    {
        var counter = _meter.CreateCounter<double>("hw.energy", "J", "Energy counted by a zone.\nSecond line \\ here.");
        counter.Add(12.5, new KeyValuePair<string, object?>("hw.id", "zone\"0\"\\a\nb"), new KeyValuePair<string, object?>("process.pid", 42));
        _meter.CreateObservableGauge("hw.power", () => _watts, "W", "Power.");
        _meter.CreateObservableGauge("hw.gpu.utilization", () => 0.25, "1");
        _meter.CreateObservableGauge("otelpower.grid.carbon_intensity", () => 400L, "{gCO2e/kWh}");

        using var response = await _http.GetAsync(MetricsUri);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var page = await response.Content.ReadAsStringAsync();
        var scope = $"otel_scope_name=\"{_meter.Name}\",otel_scope_version=\"2.1.0\"";
        var expected = string.Join('\n',
            "# TYPE target_info gauge",
            "# HELP target_info Target metadata",
            $"target_info{{service_name=\"svc \\\"quoted\\\"\",service_version=\"9\",{InstanceId()}}} 1",
            "# TYPE hw_energy_joules_total counter",
            "# HELP hw_energy_joules_total Energy counted by a zone.\\nSecond line \\\\ here.",
            $"hw_energy_joules_total{{{scope},hw_id=\"zone\\\"0\\\"\\\\a\\nb\",process_pid=\"42\"}} 12.5",
            "# TYPE hw_power_watts gauge",
            "# HELP hw_power_watts Power.",
            $"hw_power_watts{{{scope}}} 2.5",
            "# TYPE hw_gpu_utilization gauge",
            $"hw_gpu_utilization{{{scope}}} 0.25",
            "# TYPE otelpower_grid_carbon_intensity gauge",
            $"otelpower_grid_carbon_intensity{{{scope}}} 400",
            string.Empty);
        Assert.Equal(expected, page);

        // The next scrape collects again: cumulative sums go on, gauges read their callback anew.
        counter.Add(0.5, new KeyValuePair<string, object?>("hw.id", "zone\"0\"\\a\nb"), new KeyValuePair<string, object?>("process.pid", 42));
        _watts = 7;
        var second = await _http.GetStringAsync(MetricsUri);
        Assert.Contains($"hw_energy_joules_total{{{scope},hw_id=\"zone\\\"0\\\"\\\\a\\nb\",process_pid=\"42\"}} 13\n", second, StringComparison.Ordinal);
        Assert.Contains($"hw_power_watts{{{scope}}} 7\n", second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_paths_and_methods_are_refused_and_head_sends_no_body()
    {
        using (var notFound = await _http.GetAsync(new Uri(MetricsUri, "/")))
        {
            Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        }

        using (var post = await _http.PostAsync(MetricsUri, new StringContent("x")))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        }

        _meter.CreateObservableGauge("hw.power", () => _watts, "W");
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, MetricsUri));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        var get = await _http.GetByteArrayAsync(MetricsUri);
        Assert.Equal(get.Length, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        var query = await _http.GetStringAsync(new Uri(MetricsUri, "/metrics?name[]=hw_power_watts"));
        Assert.Contains("hw_power_watts{", query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_garbled_request_gets_400_and_a_silent_connection_does_not_hold_up_the_next_scrape()
    {
        _meter.CreateObservableGauge("hw.power", () => _watts, "W");
        using var silent = new TcpClient();
        await silent.ConnectAsync(IPAddress.Loopback, _endpoint.LocalEndPoint!.Port);

        using (var garbled = new TcpClient())
        {
            await garbled.ConnectAsync(IPAddress.Loopback, _endpoint.LocalEndPoint!.Port);
            var stream = garbled.GetStream();
            await stream.WriteAsync("NONSENSE\r\n\r\n"u8.ToArray());
            using var reader = new StreamReader(stream, Encoding.ASCII);
            using var cancellation = new CancellationTokenSource(Wait);
            Assert.Equal("HTTP/1.1 400 Bad Request", await reader.ReadLineAsync(cancellation.Token));
        }

        using var timeout = new CancellationTokenSource(Wait);
        var page = await _http.GetStringAsync(MetricsUri, timeout.Token);
        Assert.Contains("hw_power_watts{", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_port_is_an_io_error_that_names_it()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var second = new PrometheusEndpoint("127.0.0.1", port, new FakeLogger<PrometheusEndpoint>());
        var error = await Assert.ThrowsAsync<IOException>(() => second.StartAsync(CancellationToken.None));
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hw.energy", "J", true, "hw_energy_joules_total")]
    [InlineData("hw.host.power", "W", false, "hw_host_power_watts")]
    [InlineData("hw.gpu.memory.usage", "By", false, "hw_gpu_memory_usage_bytes")]
    [InlineData("hw.gpu.utilization", "1", false, "hw_gpu_utilization")]
    [InlineData("otelpower.grid.carbon_intensity", "{gCO2e/kWh}", false, "otelpower_grid_carbon_intensity")]
    [InlineData("already_joules_total", "J", true, "already_joules_total")]
    [InlineData("9lives..x", "", true, "_9lives_x_total")]
    [InlineData("rate", "m/s", false, "rate_m_per_s")]
    public void Sample_names_follow_the_opentelemetry_prometheus_rules(string name, string unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusTextSerializer.SampleName(name, unit, counter));

    private string InstanceId()
    {
        // AddService adds a random service.instance.id; read it back from the provider's resource.
        var id = _provider.GetResource().Attributes.Single(a => a.Key == "service.instance.id").Value;
        return $"service_instance_id=\"{id}\"";
    }
}
