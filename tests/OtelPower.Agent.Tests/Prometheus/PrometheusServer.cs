using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OtelPower.Agent.Tests.Prometheus;

/// <summary>
/// A real Prometheus (Debian's package; .ci/run installs it) that scrapes the agent every second on
/// loopback, with its own temporary storage, and answers PromQL over its HTTP API.
/// </summary>
internal sealed partial class PrometheusServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus";

    private readonly Process _process;
    private readonly TemporaryDirectory _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, TemporaryDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public int Port { get; }

    public static async Task<PrometheusServer> StartAsync(int scrapePort, string scrapeInterval = "1s")
    {
        Assert.True(File.Exists(Binary), $"{Binary} is missing: install Debian's prometheus package (.ci/run does)");
        var directory = new TemporaryDirectory();
        var config = Path.Combine(directory.Path, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: {scrapeInterval}
              scrape_timeout: 400ms
            scrape_configs:
              - job_name: otelpower-agent
                static_configs:
                  - targets: ['127.0.0.1:{scrapePort}']
            """);
        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Combine(directory.Path, "data")}",
            "--web.listen-address=127.0.0.1:0", // the kernel picks the port; Prometheus logs the one it got
            "--log.level=info",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("prometheus exited before listening:\n" + log));
                return;
            }

            lock (log)
            {
                log.AppendLine(e.Data);
            }

            // ts=... level=info component=web msg="Listening on" address=127.0.0.1:37393
            var match = ListeningOn().Match(e.Data);
            if (match.Success)
            {
                listening.TrySetResult(int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture));
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        int port;
        try
        {
            port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            directory.Dispose();
            throw;
        }

        var server = new PrometheusServer(process, directory, port);
        await server.WaitUntilReadyAsync();
        return server;
    }

    [GeneratedRegex("msg=\"Listening on\" address=[^ ]*:(?<port>[0-9]+)")]
    private static partial Regex ListeningOn();

    /// <summary>An instant query; each result's labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql, double? atUnixSeconds = null)
    {
        var url = "api/v1/query?query=" + Uri.EscapeDataString(promql)
            + (atUnixSeconds is { } at ? "&time=" + at.ToString("0.000", CultureInfo.InvariantCulture) : string.Empty);
        using var document = JsonDocument.Parse(await _http.GetStringAsync(url));
        var data = document.RootElement.GetProperty("data");
        Assert.Equal("vector", data.GetProperty("resultType").GetString());
        return data.GetProperty("result").EnumerateArray()
            .Select(r => (
                (IReadOnlyDictionary<string, string>)r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))
            .ToArray();
    }

    /// <summary>The raw samples (unix seconds, value) of one series selector over the last <paramref name="range"/>.</summary>
    public async Task<IReadOnlyList<(double Time, double Value)>> SamplesAsync(string selector, string range = "1h")
    {
        var url = "api/v1/query?query=" + Uri.EscapeDataString($"{selector}[{range}]");
        using var document = JsonDocument.Parse(await _http.GetStringAsync(url));
        var result = document.RootElement.GetProperty("data").GetProperty("result").EnumerateArray().ToArray();
        Assert.True(result.Length == 1, $"{selector} matched {result.Length} series");
        return result[0].GetProperty("values").EnumerateArray()
            .Select(v => (v[0].GetDouble(), double.Parse(v[1].GetString()!, CultureInfo.InvariantCulture)))
            .ToArray();
    }

    /// <summary>Every series a selector matches over the last <paramref name="range"/>: its labels and raw samples (unix seconds, value).</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<(double Time, double Value)> Samples)>> AllSamplesAsync(string selector, string range = "1h")
    {
        var url = "api/v1/query?query=" + Uri.EscapeDataString($"{selector}[{range}]");
        using var document = JsonDocument.Parse(await _http.GetStringAsync(url));
        return document.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => (
                (IReadOnlyDictionary<string, string>)r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                (IReadOnlyList<(double Time, double Value)>)r.GetProperty("values").EnumerateArray()
                    .Select(v => (v[0].GetDouble(), double.Parse(v[1].GetString()!, CultureInfo.InvariantCulture)))
                    .ToArray()))
            .ToArray();
    }

    public async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {timeout} waiting for Prometheus: {what}");
            }

            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _directory.Dispose();
    }


    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(_process.HasExited, "prometheus exited at start");
            try
            {
                using var response = await _http.GetAsync("-/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        Assert.Fail("prometheus did not become ready within 30 s");
    }
}
