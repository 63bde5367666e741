using System.Collections.Immutable;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OtelPower.Attribution;
using OtelPower.Attribution.Pools;

namespace OtelPower.Sensors.Redfish;

/// <summary>
/// The platform pool from a BMC's Redfish service (issue 14): the chassis power from
/// <c>Chassis/{id}/EnvironmentMetrics</c> (<c>PowerWatts.Reading</c>) or the older <c>Chassis/{id}/Power</c>
/// (<c>PowerControl[0].PowerConsumedWatts</c>), polled on its own schedule so a slow BMC never delays a sample.
/// </summary>
/// <remarks>
/// <para><b>Integration.</b> A BMC reports a power that holds until its next refresh, so the reader holds each
/// reading until the next one arrives (zero-order hold on the injected clock): the counter at any instant is
/// what was committed up to the last reading plus that reading's watts since. <see cref="Read"/> only reads
/// that state. A failed poll ends the hold at the failure: the time the BMC did not answer is not counted,
/// and the pool reads 0 W until it answers again. A service that gives only <c>EnergykWh</c> is read as a
/// counter instead (its resolution is coarse: often 1 Wh).</para>
/// <para><b>Chassis.</b> The first member of <c>/redfish/v1/Chassis</c> that gives a reading is used (a
/// multi-chassis service nests enclosures; adding them would count the same power twice).</para>
/// </remarks>
public sealed partial class RedfishPlatformReader : IEnergyPoolReader
{
    /// <summary>The platform pool's <see cref="PoolDevice.Name"/>, and the JSON <c>platform.source</c>.</summary>
    public const string SourceName = "redfish";

    private static readonly string[] ChassisPowerResources = ["EnvironmentMetrics", "Power"];

    private readonly RedfishOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private Uri? _readingUri;
    private bool _energyOnly;
    private PoolDevice? _device;
    private ulong _committedMicrojoules;
    private (double Watts, long Timestamp)? _held;
    private double? _firstKilowattHours;
    private bool _failing;

    public RedfishPlatformReader(RedfishOptions options, TimeProvider timeProvider, ILogger logger, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _http = new HttpClient(handler ?? CreateHandler(options), disposeHandler: true) { Timeout = options.RequestTimeout };
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (options.User is { } user)
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{options.Password}"));
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", token);
        }
    }

    /// <summary>Starts polling in the background; the first poll starts now.</summary>
    public void Start()
    {
        LogStarting(_logger, _options.ServiceRoot.ToString(), _options.PollInterval.TotalSeconds);
        _loop = Task.Run(PollLoopAsync);
    }

    /// <inheritdoc />
    public ImmutableArray<EnergyPoolReading> Read()
    {
        lock (_gate)
        {
            if (_device is null)
            {
                return [];
            }

            var counter = _committedMicrojoules;
            Power? power = null;
            if (_held is { } held)
            {
                counter += Microjoules(held.Watts, _timeProvider.GetElapsedTime(held.Timestamp));
                power = new Power(held.Watts);
            }

            return [new EnergyPoolReading(_device, _energyOnly ? PoolEnergySource.Counter : PoolEnergySource.Power, counter, 0, 1, [], power)];
        }
    }

    /// <summary>One poll: finds the chassis reading on first success, then reads it. Never throws; a failure is logged once.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            if (_readingUri is null)
            {
                await DiscoverAsync(cancellationToken).ConfigureAwait(false);
            }

            using var document = await GetAsync(_readingUri!, cancellationToken).ConfigureAwait(false);
            var (watts, kilowattHours) = ParseReading(document.RootElement);
            var now = _timeProvider.GetTimestamp();
            lock (_gate)
            {
                if (!_energyOnly && watts is { } w)
                {
                    Commit(now);
                    _held = (w, now);
                }
                else if (_energyOnly && kilowattHours is { } kwh)
                {
                    _firstKilowattHours ??= kwh;
                    _committedMicrojoules = Math.Max(_committedMicrojoules, (ulong)Math.Max(0, Math.Round((kwh - _firstKilowattHours.Value) * 3.6e12)));
                }
                else
                {
                    throw new InvalidDataException($"{_readingUri} has no power reading");
                }

                if (_failing)
                {
                    _failing = false;
                    LogRecovered(_logger, _readingUri!.ToString());
                }
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or JsonException or InvalidDataException or IOException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            lock (_gate)
            {
                Commit(_timeProvider.GetTimestamp());
                _held = null;
                if (!_failing)
                {
                    _failing = true;
                    LogFailed(_logger, _options.ServiceRoot.ToString(), exception.Message);
                }
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }

        _http.Dispose();
        _stopping.Dispose();
    }

    /// <summary>The watts and kWh of an EnvironmentMetrics or Power resource.</summary>
    internal static (double? Watts, double? KilowattHours) ParseReading(JsonElement resource)
    {
        double? watts = null, kwh = null;
        if (resource.TryGetProperty("PowerWatts", out var power) && power.TryGetProperty("Reading", out var reading) && reading.ValueKind == JsonValueKind.Number)
        {
            watts = reading.GetDouble();
        }

        if (resource.TryGetProperty("EnergykWh", out var energy) && energy.TryGetProperty("Reading", out var energyReading) && energyReading.ValueKind == JsonValueKind.Number)
        {
            kwh = energyReading.GetDouble();
        }

        if (watts is null && resource.TryGetProperty("PowerControl", out var controls) && controls.ValueKind == JsonValueKind.Array)
        {
            foreach (var control in controls.EnumerateArray())
            {
                if (control.TryGetProperty("PowerConsumedWatts", out var consumed) && consumed.ValueKind == JsonValueKind.Number)
                {
                    watts = consumed.GetDouble();
                    break;
                }
            }
        }

        return (watts is >= 0 and < 1e7 ? watts : null, kwh is >= 0 ? kwh : null);
    }

    private async Task PollLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.PollInterval, _timeProvider);
        do
        {
            await PollOnceAsync(_stopping.Token).ConfigureAwait(false);
        }
        while (await WaitAsync(timer).ConfigureAwait(false));
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task DiscoverAsync(CancellationToken cancellationToken)
    {
        using var collection = await GetAsync(new Uri(_options.ServiceRoot + "/Chassis"), cancellationToken).ConfigureAwait(false);
        if (!collection.RootElement.TryGetProperty("Members", out var members) || members.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException("/redfish/v1/Chassis lists no Members");
        }

        foreach (var member in members.EnumerateArray())
        {
            if (!member.TryGetProperty("@odata.id", out var id) || id.GetString() is not { } path)
            {
                continue;
            }

            using var chassis = await GetAsync(Resolve(path), cancellationToken).ConfigureAwait(false);
            foreach (var resource in ChassisPowerResources)
            {
                if (!chassis.RootElement.TryGetProperty(resource, out var link) || !link.TryGetProperty("@odata.id", out var linkId) || linkId.GetString() is not { } linkPath)
                {
                    continue;
                }

                var uri = Resolve(linkPath);
                using var document = await GetAsync(uri, cancellationToken).ConfigureAwait(false);
                var (watts, kwh) = ParseReading(document.RootElement);
                if (watts is null && kwh is null)
                {
                    continue;
                }

                var root = chassis.RootElement;
                var vendor = root.TryGetProperty("Manufacturer", out var manufacturer) && manufacturer.GetString() is { Length: > 0 } m ? m : "unknown";
                var model = root.TryGetProperty("Model", out var modelProperty) && modelProperty.GetString() is { Length: > 0 } md ? md : null;
                lock (_gate)
                {
                    _readingUri = uri;
                    _energyOnly = watts is null;
                    _device = new PoolDevice(PlatformPool.Id, PlatformPool.Type, 0, SourceName, vendor, model);
                }

                LogFound(_logger, uri.ToString(), watts is null ? "EnergykWh" : resource == "Power" ? "PowerControl.PowerConsumedWatts" : "PowerWatts");
                return;
            }
        }

        throw new InvalidDataException("no chassis of /redfish/v1/Chassis has EnvironmentMetrics.PowerWatts or Power.PowerControl");
    }

    private Uri Resolve(string path) => new(_options.ServiceRoot, path);

    private async Task<JsonDocument> GetAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {uri}: {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Adds the held reading's energy up to <paramref name="now"/>.</summary>
    private void Commit(long now)
    {
        if (_held is { } held && now > held.Timestamp)
        {
            _committedMicrojoules += Microjoules(held.Watts, _timeProvider.GetElapsedTime(held.Timestamp, now));
            _held = (held.Watts, now);
        }
    }

    private static ulong Microjoules(double watts, TimeSpan duration) =>
        duration > TimeSpan.Zero ? (ulong)Math.Round(watts * duration.Ticks / 10.0) : 0; // W x 100 ns = 0.1 µJ

    private static SocketsHttpHandler CreateHandler(RedfishOptions options)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (options.CaFile is { } caFile)
        {
            var authority = X509CertificateLoader.LoadCertificateFromFile(caFile);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    if (errors == SslPolicyErrors.None)
                    {
                        return true;
                    }

                    // A BMC's self-signed certificate: trust exactly the given CA (name mismatches still fail).
                    if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(authority);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(certificate));
                },
            };
        }

        return handler;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Polling Redfish at {ServiceRoot} every {Seconds} s for whole-node power.")]
    private static partial void LogStarting(ILogger logger, string serviceRoot, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redfish: whole-node power from {Uri} ({Property}).")]
    private static partial void LogFound(ILogger logger, string uri, string property);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redfish at {ServiceRoot} failed: {Problem}. The platform pool reads 0 W until it answers again.")]
    private static partial void LogFailed(ILogger logger, string serviceRoot, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redfish {Uri} answers again.")]
    private static partial void LogRecovered(ILogger logger, string uri);
}
