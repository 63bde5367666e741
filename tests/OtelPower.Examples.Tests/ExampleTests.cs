using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OtelPower.Deployment.Tests;

namespace OtelPower.Examples.Tests;

/// <summary>The examples' README commands, run for real on the built examples.</summary>
public sealed class ExampleTests
{
    [Fact]
    public async Task Console_example_meters_the_host_and_prints_the_instruments()
    {
        var (exitCode, output) = await RunAsync(ExampleDll("OtelPower.Examples.Console"), ["--seconds", "2"], TimeSpan.FromSeconds(60));

        Assert.Equal(0, exitCode);
        Assert.Matches(@"hw\.host\.power\s+\d+\.\d{3} W\s+\(source=(rapl|estimate)\)", output);
        Assert.Matches(@"hw\.host\.energy\s+\d+\.\d{3} J", output);
        Assert.Matches(@"\n\s+\d+\.\d{3}\s+process\.executable\.name=\S+", output); // at least one process series
    }

    [Fact]
    public async Task Traced_service_exports_its_traces_and_its_energy_over_otlp()
    {
        var received = new ConcurrentBag<(string Path, long Bytes)>();
        var collectorPort = FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, collectorPort));
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext context, string signal) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Add((context.Request.Path, body.Length));
            return Results.Ok();
        });
        await collector.StartAsync();

        var servicePort = FreePort();
        using var service = Start(ExampleDll("OtelPower.Examples.TracedService"), ["--urls", $"http://127.0.0.1:{servicePort}"], new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{collectorPort}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!(received.Any(r => r.Path == "/v1/traces" && r.Bytes > 0) && received.Any(r => r.Path == "/v1/metrics" && r.Bytes > 0)))
            {
                Assert.True(DateTime.UtcNow < deadline, $"OTLP received only: {string.Join(", ", received.Select(r => r.Path).Distinct())}");
                Assert.False(service.HasExited, "the service exited");
                try
                {
                    using var response = await http.GetAsync($"http://127.0.0.1:{servicePort}/work?ms=50");
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                }
                catch (HttpRequestException)
                {
                    // still starting
                }

                await Task.Delay(250);
            }
        }
        finally
        {
            service.Kill(entireProcessTree: true);
            await service.WaitForExitAsync();
        }
    }

    private static string ExampleDll(string name)
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = RepositoryRoot.Combine("examples", name, "bin", testOutput.Parent!.Name, testOutput.Name, name + ".dll");
        Assert.True(File.Exists(path), $"example not built at {path}");
        return path;
    }

    private static Process Start(string dll, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        return process;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string dll, IEnumerable<string> arguments, TimeSpan timeout)
    {
        using var process = Start(dll, arguments);
        using var cancellation = new CancellationTokenSource(timeout);
        var output = process.StandardOutput.ReadToEndAsync(cancellation.Token);
        _ = process.StandardError.ReadToEndAsync(cancellation.Token);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
