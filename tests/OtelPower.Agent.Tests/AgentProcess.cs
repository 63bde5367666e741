using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace OtelPower.Agent.Tests;

/// <summary>Runs the built agent as a real process and reads its stdout line by line.</summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _stderrLine = new(0);

    private AgentProcess(Process process)
    {
        _process = process;
    }

    public static string AgentDll
    {
        get
        {
            // The agent's own build output (same configuration as the tests, built as their dependency):
            // the copy beside the tests resolves assemblies for the test host, not for the agent.
            var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var framework = testOutput.Name;
            var configuration = testOutput.Parent!.Name;
            var path = Deployment.Tests.RepositoryRoot.Combine("src", "OtelPower.Agent", "bin", configuration, framework, "otelpower.dll");
            Assert.True(File.Exists(path), $"agent not built at {path}");
            return path;
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The agent's process id, for what only /proc/PID tells (its mappings).</summary>
    public int Id => _process.Id;

    /// <param name="arguments">The agent's command line.</param>
    /// <param name="environment">Variables to set for it.</param>
    /// <param name="executable">A published <c>otelpower</c> to run instead of the built <c>otelpower.dll</c> on the JIT.</param>
    public static AgentProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? executable = null)
    {
        var start = new ProcessStartInfo(executable ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (executable is null)
        {
            start.ArgumentList.Add(AgentDll);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var agent = new AgentProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                agent._lines.Writer.TryComplete();
            }
            else
            {
                agent._lines.Writer.TryWrite(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (agent._stderr)
                {
                    agent._stderr.AppendLine(e.Data);
                }

                agent._stderrLine.Release();
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return agent;
    }

    /// <summary>The next stdout line, or a failure naming what the agent said on stderr.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(cancellation.Token);
        }
        catch (Exception exception) when (exception is OperationCanceledException or ChannelClosedException)
        {
            Assert.Fail($"no line from the agent within {timeout} (exited: {_process.HasExited}); stderr:\n{StandardError}");
            throw;
        }
    }

    /// <summary>Every stdout line until the agent closes it.</summary>
    public async Task<string> ReadToEndAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        var text = new StringBuilder();
        await foreach (var line in _lines.Reader.ReadAllAsync(cancellation.Token))
        {
            text.AppendLine(line);
        }

        return text.ToString();
    }

    /// <summary>Reads JSON lines until one meets <paramref name="done"/>, and returns it.</summary>
    public async Task<System.Text.Json.JsonElement> ReadUntilAsync(Func<System.Text.Json.JsonElement, bool> done, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            Assert.True(remaining > TimeSpan.Zero, $"no JSON line {what} in time; stderr:\n{StandardError}");
            var line = System.Text.Json.JsonDocument.Parse(await ReadLineAsync(remaining)).RootElement.Clone();
            if (done(line))
            {
                return line;
            }
        }
    }

    /// <summary>Reads JSON lines until one reports <paramref name="joules"/> of cumulative host energy, and returns it.</summary>
    public Task<System.Text.Json.JsonElement> ReadUntilHostEnergyAsync(double joules, TimeSpan? timeout = null) =>
        ReadUntilAsync(
            line =>
            {
                var host = line.GetProperty("host").GetProperty("energy_j").GetDouble();
                Assert.True(host <= joules + 1e-9, $"host energy overshot: {host} J, waiting for {joules} J");
                return Math.Abs(host - joules) < 1e-9;
            },
            $"reported {joules} J of host energy",
            timeout);

    /// <summary>Waits until stderr holds <paramref name="text"/>, looking again at each line the agent writes.</summary>
    public async Task WaitForStandardErrorAsync(string text, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            while (!StandardError.Contains(text, StringComparison.Ordinal))
            {
                await _stderrLine.WaitAsync(cancellation.Token);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the agent did not write '{text}' to stderr within {timeout}; stderr:\n{StandardError}");
        }
    }

    /// <summary>
    /// The port the agent's Prometheus endpoint is listening on, read from its log line: tests start the
    /// agent with <c>--prometheus-port 0</c>, so the OS picks the port and nothing else can take it first.
    /// </summary>
    public async Task<int> PrometheusPortAsync(TimeSpan? timeout = null)
    {
        const string Listening = "Prometheus endpoint listening on http://";
        await WaitForStandardErrorAsync(Listening, timeout ?? TimeSpan.FromSeconds(30));
        var match = System.Text.RegularExpressions.Regex.Match(StandardError, Listening + @"\S+:(\d+)/metrics");
        Assert.True(match.Success, $"no port in the agent's Prometheus log line; stderr:\n{StandardError}");
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancellation.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _stderrLine.Dispose();
    }

    /// <summary>Runs the agent to completion and returns its exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] arguments)
    {
        await using var agent = Start(arguments);
        var stdout = new StringBuilder();
        try
        {
            while (true)
            {
                stdout.AppendLine(await agent._lines.Reader.ReadAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token));
            }
        }
        catch (ChannelClosedException)
        {
        }

        var exitCode = await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return (exitCode, stdout.ToString(), agent.StandardError);
    }
}
