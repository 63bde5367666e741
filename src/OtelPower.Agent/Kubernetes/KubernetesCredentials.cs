using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OtelPower.Agent.Kubernetes.Api;

namespace OtelPower.Agent.Kubernetes;

/// <summary>The <c>Authorization</c> header of each API request, or none (a client certificate only).</summary>
internal abstract class KubernetesCredentials
{
    public static KubernetesCredentials None { get; } = new StaticCredentials(null);

    public abstract ValueTask<AuthenticationHeaderValue?> AuthorizeAsync(CancellationToken cancellationToken);

    public static KubernetesCredentials Bearer(string token) => new StaticCredentials(new AuthenticationHeaderValue("Bearer", token));

    public static KubernetesCredentials Basic(string user, string password) =>
        new StaticCredentials(new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password))));

    private sealed class StaticCredentials(AuthenticationHeaderValue? header) : KubernetesCredentials
    {
        public override ValueTask<AuthenticationHeaderValue?> AuthorizeAsync(CancellationToken cancellationToken) => ValueTask.FromResult(header);
    }
}

/// <summary>
/// A bearer token read from a file and read again a minute later: the kubelet rotates projected service
/// account tokens (bound tokens expire within hours), as client-go's and KubernetesClient's file auth do.
/// </summary>
internal sealed class TokenFileCredentials(string path) : KubernetesCredentials
{
    private static readonly TimeSpan RereadAfter = TimeSpan.FromMinutes(1);

    private AuthenticationHeaderValue? header;
    private long readAt;

    public override async ValueTask<AuthenticationHeaderValue?> AuthorizeAsync(CancellationToken cancellationToken)
    {
        if (header is null || Stopwatch.GetElapsedTime(readAt) >= RereadAfter)
        {
            string token = (await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)).Trim();
            header = new AuthenticationHeaderValue("Bearer", token);
            readAt = Stopwatch.GetTimestamp();
        }

        return header;
    }
}

/// <summary>
/// A kubeconfig <c>exec</c> plugin (cloud providers' token helpers): run it, read its ExecCredential from
/// stdout, and run it again once the token it gave has expired.
/// </summary>
internal sealed class ExecCredentials : KubernetesCredentials
{
    private static readonly TimeSpan PluginTimeout = TimeSpan.FromMinutes(1);

    private readonly string command;
    private readonly IReadOnlyList<string> arguments;
    private readonly IReadOnlyList<KeyValuePair<string, string>> environment;
    private readonly string apiVersion;
    private AuthenticationHeaderValue? header;
    private DateTimeOffset? expires;

    public ExecCredentials(string command, IReadOnlyList<string> arguments, IReadOnlyList<KeyValuePair<string, string>> environment, string apiVersion)
    {
        this.command = command;
        this.arguments = arguments;
        this.environment = environment;
        this.apiVersion = apiVersion;
    }

    public override async ValueTask<AuthenticationHeaderValue?> AuthorizeAsync(CancellationToken cancellationToken)
    {
        if (header is null || (expires is { } at && at <= DateTimeOffset.UtcNow))
        {
            ExecCredentialStatus status = await RunAsync(cancellationToken).ConfigureAwait(false);
            header = string.IsNullOrEmpty(status.Token) ? null : new AuthenticationHeaderValue("Bearer", status.Token);
            expires = status.ExpirationTimestamp;
        }

        return header;
    }

    /// <summary>Runs the plugin once; throws when it fails or prints no credential.</summary>
    public async Task<ExecCredentialStatus> RunAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        start.Environment["KUBERNETES_EXEC_INFO"] = string.Create(
            CultureInfo.InvariantCulture, $$$"""{"apiVersion":"{{{apiVersion}}}","kind":"ExecCredential","spec":{"interactive":false}}""");

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"The credential plugin {command} did not start.");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(PluginTimeout);
        string output = await process.StandardOutput.ReadToEndAsync(limit.Token).ConfigureAwait(false);
        await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The credential plugin {command} exited with {process.ExitCode}."));
        }

        ExecCredentialStatus? status = JsonSerializer.Deserialize(output, KubernetesJsonContext.Default.ExecCredential)?.Status;
        if (status is null || (string.IsNullOrEmpty(status.Token) && string.IsNullOrEmpty(status.ClientCertificateData)))
        {
            throw new InvalidDataException($"The credential plugin {command} printed no token and no client certificate.");
        }

        return status;
    }
}
