using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OtelPower.Attribution.Pools;
using OtelPower.Sensors.Redfish;

namespace OtelPower.Sensors.Tests.Redfish;

/// <summary>The Redfish reader against DMTF's public-rackmount1 mockup, served from disk by a fake handler the test moves.</summary>
public sealed class RedfishPlatformReaderTests
{
    private static readonly string Mockup = Deployment.Tests.RepositoryRoot.Combine("..", "shared", "peer-fixtures", "redfish", "public-rackmount1");
    private readonly FakeTimeProvider _clock = new();
    private readonly MockupHandler _bmc = new();

    private RedfishPlatformReader Reader(string? user = "admin") => new(
        new RedfishOptions { Url = new Uri("https://bmc.example"), User = user, Password = "p:ss" },
        _clock,
        new FakeLogger<RedfishPlatformReader>(),
        _bmc);

    [Fact]
    public async Task Environment_metrics_power_is_held_until_the_next_reading_and_integrated()
    {
        using var reader = Reader();
        Assert.Empty(reader.Read()); // nothing until the first poll answers

        await reader.PollOnceAsync();
        _clock.Advance(TimeSpan.FromSeconds(2));
        var first = Assert.Single(reader.Read());
        Assert.Equal(748_000_000UL, first.EnergyMicrojoules); // the mockup's 374 W for 2 s
        Assert.Equal(new PoolDevice(PlatformPool.Id, PlatformPool.Type, 0, "redfish", "Contoso", "3500RX"), first.Device);

        _bmc.EnvironmentWatts = 400;
        _clock.Advance(TimeSpan.FromSeconds(3));
        await reader.PollOnceAsync();
        _clock.Advance(TimeSpan.FromSeconds(1));

        var second = Assert.Single(reader.Read());
        Assert.Equal((374UL * 5 + 400) * 1_000_000, second.EnergyMicrojoules);
        Assert.Equal(400.0, second.Power!.Value.Watts);
        Assert.Equal("Basic YWRtaW46cDpzcw==", _bmc.Authorization); // admin:p:ss
    }

    [Fact]
    public async Task A_bmc_that_stops_answering_ends_the_hold_and_says_so_once()
    {
        var log = new FakeLogger<RedfishPlatformReader>();
        using var reader = new RedfishPlatformReader(new RedfishOptions { Url = new Uri("https://bmc.example/redfish/v1/") }, _clock, log, _bmc);
        await reader.PollOnceAsync();
        _clock.Advance(TimeSpan.FromSeconds(1));
        _bmc.Down = true;
        await reader.PollOnceAsync();
        await reader.PollOnceAsync();
        _clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(374_000_000UL, Assert.Single(reader.Read()).EnergyMicrojoules);
        Assert.Single(log.Collector.GetSnapshot(), e => e.Message.Contains("failed", StringComparison.Ordinal));

        _bmc.Down = false;
        await reader.PollOnceAsync();
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(748_000_000UL, Assert.Single(reader.Read()).EnergyMicrojoules);
        Assert.Contains(log.Collector.GetSnapshot(), e => e.Message.Contains("answers again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_environment_metrics_the_older_power_resource_is_read()
    {
        _bmc.WithoutEnvironmentMetrics = true;
        using var reader = Reader();
        await reader.PollOnceAsync();
        _clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(344_000_000UL, Assert.Single(reader.Read()).EnergyMicrojoules); // PowerControl[0].PowerConsumedWatts
    }

    [Fact]
    public void Credentials_file_holds_user_and_password_and_the_password_may_hold_colons()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "root:s3:cr:et\n");
            Assert.Equal(("root", "s3:cr:et"), RedfishOptions.ReadCredentials(file));
            File.WriteAllText(file, "no-colon\n");
            Assert.Throws<InvalidDataException>(() => RedfishOptions.ReadCredentials(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Serves <c>/redfish/v1/X</c> from the mockup's <c>X/index.json</c>, with the readings the test sets.</summary>
    private sealed class MockupHandler : HttpMessageHandler
    {
        public double EnvironmentWatts { get; set; } = 374;

        public bool WithoutEnvironmentMetrics { get; set; }

        public bool Down { get; set; }

        public string? Authorization { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Authorization = request.Headers.Authorization?.ToString();
            var path = request.RequestUri!.AbsolutePath.TrimEnd('/');
            var file = Path.Combine(Mockup, path["/redfish/v1".Length..].TrimStart('/'), "index.json");
            if (Down || !File.Exists(file) || (WithoutEnvironmentMetrics && path.EndsWith("/EnvironmentMetrics", StringComparison.Ordinal)))
            {
                return Task.FromResult(new HttpResponseMessage(Down ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.NotFound));
            }

            var json = JsonNode.Parse(File.ReadAllText(file))!;
            if (path.EndsWith("/EnvironmentMetrics", StringComparison.Ordinal))
            {
                json["PowerWatts"]!["Reading"] = EnvironmentWatts;
            }

            if (WithoutEnvironmentMetrics && json is JsonObject chassis && path.EndsWith("/Chassis/1U", StringComparison.Ordinal))
            {
                chassis.Remove("EnvironmentMetrics");
            }

            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json.ToJsonString(), Encoding.UTF8, "application/json") });
        }
    }
}
