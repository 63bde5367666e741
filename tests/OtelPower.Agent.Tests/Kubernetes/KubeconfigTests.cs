using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using OtelPower.Agent.Kubernetes;

namespace OtelPower.Agent.Tests.Kubernetes;

public sealed class KubeconfigTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("otelpower-kubeconfig-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Current_context_picks_its_cluster_and_user()
    {
        string path = Write("config", """
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
            - name: dev
              cluster:
                server: https://dev.example:6443
            - name: prod
              cluster:
                server: https://prod.example:6443
                insecure-skip-tls-verify: true
                tls-server-name: kubernetes.default
            users:
            - name: dev
              user:
                token: dev-token
            - name: admin
              user:
                token: "prod-token"
            contexts:
            - name: dev
              context: {cluster: dev, user: dev}
            - name: prod
              context:
                cluster: prod
                user: admin
                namespace: ignored
            """);

        KubernetesApiSettings settings = Kubeconfig.Load([path]);

        Assert.Equal(new Uri("https://prod.example:6443"), settings.Server);
        Assert.True(settings.InsecureSkipTlsVerify);
        Assert.Equal("kubernetes.default", settings.TlsServerName);
        Assert.Null(settings.ClientCertificate);
        Assert.Equal("Bearer prod-token", (await settings.Credentials.AuthorizeAsync(CancellationToken.None))?.ToString());
    }

    [Fact]
    public async Task Certificates_inline_and_as_files_and_a_token_file_are_read_relative_to_the_kubeconfig()
    {
        (string caPem, string certificatePem, string keyPem) = Certificates();
        Directory.CreateDirectory(Path.Combine(directory, "pki"));
        Write("pki/client.crt", certificatePem);
        Write("pki/client.key", keyPem);
        Write("pki/token", "file-token\n");
        string path = Write("config", $"""
            current-context: c
            clusters: [{"{"}name: c, cluster: {"{"}server: "https://10.0.0.1:6443", certificate-authority-data: {Base64(caPem)}{"}"}{"}"}]
            users:
            - name: u
              user:
                client-certificate: pki/client.crt
                client-key: pki/client.key
                tokenFile: pki/token
            contexts: [{"{"}name: c, context: {"{"}cluster: c, user: u{"}"}{"}"}]
            """);

        KubernetesApiSettings settings = Kubeconfig.Load([path]);

        Assert.Single(settings.CertificateAuthority!);
        Assert.Equal("CN=test-ca", settings.CertificateAuthority![0].Subject);
        Assert.Equal("CN=agent", settings.ClientCertificate!.Subject);
        Assert.True(settings.ClientCertificate.HasPrivateKey);
        Assert.Equal("Bearer file-token", (await settings.Credentials.AuthorizeAsync(CancellationToken.None))?.ToString());
    }

    [Fact]
    public async Task Several_files_merge_and_the_first_to_name_an_entry_wins()
    {
        string first = Write("first", """
            current-context: shared
            users:
            - name: me
              user: {username: alice, password: secret}
            """);
        string second = Write("second", """
            current-context: other
            clusters:
            - name: main
              cluster: {server: "http://127.0.0.1:8080"}
            users:
            - name: me
              user: {token: loses}
            contexts:
            - name: shared
              context: {cluster: main, user: me}
            """);

        KubernetesApiSettings settings = Kubeconfig.Load([Path.Combine(directory, "missing"), first, second]);

        Assert.Equal(new Uri("http://127.0.0.1:8080"), settings.Server);
        Assert.Equal(
            new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:secret"))).ToString(),
            (await settings.Credentials.AuthorizeAsync(CancellationToken.None))?.ToString());
    }

    [Fact]
    public async Task Exec_plugin_token_is_used()
    {
        string plugin = Write("plugin.sh", """
            #!/bin/sh
            case "$KUBERNETES_EXEC_INFO" in *ExecCredential*) ;; *) exit 3 ;; esac
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"'"$1-$PLUGIN_SUFFIX"'"}}'
            """);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        string path = Write("config", """
            current-context: c
            clusters: [{name: c, cluster: {server: "https://api.example"}}]
            users:
            - name: u
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: ./plugin.sh
                  args: [exec]
                  env: [{name: PLUGIN_SUFFIX, value: token}]
            contexts: [{name: c, context: {cluster: c, user: u}}]
            """);

        KubernetesApiSettings settings = Kubeconfig.Load([path]);

        Assert.Equal("Bearer exec-token", (await settings.Credentials.AuthorizeAsync(CancellationToken.None))?.ToString());
    }

    [Theory]
    [InlineData("clusters: []\n")]
    [InlineData("current-context: nowhere\ncontexts: []\n")]
    [InlineData("current-context: c\ncontexts: [{name: c, context: {cluster: absent}}]\n")]
    [InlineData("current-context: c\nclusters: [{name: c, cluster: {server: not-a-uri}}]\ncontexts: [{name: c, context: {cluster: c}}]\n")]
    public void Kubeconfig_without_a_usable_context_is_rejected(string yaml) =>
        Assert.Throws<InvalidDataException>(() => Kubeconfig.Load([Write("config", yaml)]));

    [Fact]
    public void No_kubeconfig_file_is_reported_as_missing() =>
        Assert.Throws<FileNotFoundException>(() => Kubeconfig.Load([Path.Combine(directory, "absent")]));

    [Fact]
    public async Task In_cluster_uses_the_service_address_ca_and_rotating_token()
    {
        (string caPem, _, _) = Certificates();
        Write("ca.crt", caPem);
        Write("token", "sa-token");

        KubernetesApiSettings settings = KubernetesClientFactory.InCluster("fd00::1", "443", directory)!;

        Assert.Equal(new Uri("https://[fd00::1]:443"), settings.Server);
        Assert.Equal("CN=test-ca", Assert.Single(settings.CertificateAuthority!).Subject);
        Assert.Equal("Bearer sa-token", (await settings.Credentials.AuthorizeAsync(CancellationToken.None))?.ToString());
        Assert.Null(KubernetesClientFactory.InCluster(null, "443", directory));
        Assert.Null(KubernetesClientFactory.InCluster("10.96.0.1", "443", Path.Combine(directory, "no-account")));
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static (string CaPem, string CertificatePem, string KeyPem) Certificates()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=test-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var clientRequest = new CertificateRequest("CN=agent", clientKey, HashAlgorithmName.SHA256);
        using X509Certificate2 client = clientRequest.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3]);
        return (ca.ExportCertificatePem(), client.ExportCertificatePem(), clientKey.ExportPkcs8PrivateKeyPem());
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
