using System.Security.Cryptography.X509Certificates;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace OtelPower.Agent.Kubernetes;

/// <summary>
/// Reads the current context of a kubeconfig (YAML or JSON) into <see cref="KubernetesApiSettings"/>: the cluster's
/// <c>server</c>, <c>certificate-authority(-data)</c>, <c>insecure-skip-tls-verify</c>, <c>tls-server-name</c>; the
/// user's <c>token</c>, <c>tokenFile</c>, <c>username</c>/<c>password</c>, <c>client-certificate(-data)</c> and
/// <c>client-key(-data)</c>, or an <c>exec</c> plugin. Paths are relative to the file that names them. Several
/// files (<c>KUBECONFIG=a:b</c>) merge as kubectl merges them: the first to name a cluster, user, context or
/// current-context wins.
/// </summary>
internal static class Kubeconfig
{
    /// <summary><c>KUBECONFIG</c> (a path list), else <c>~/.kube/config</c>.</summary>
    public static IReadOnlyList<string> DefaultPaths()
    {
        string? variable = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(variable))
        {
            return variable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        return [Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config")];
    }

    /// <summary>
    /// The settings of the current context. Throws <see cref="FileNotFoundException"/> when no file exists and
    /// <see cref="InvalidDataException"/> when the files do not describe a usable context.
    /// </summary>
    public static KubernetesApiSettings Load(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var files = new List<(string Directory, YamlMappingNode Root)>();
        foreach (string path in paths)
        {
            if (!File.Exists(path))
            {
                continue;
            }

            var yaml = new YamlStream();
            using (var reader = new StreamReader(path, Encoding.UTF8))
            {
                yaml.Load(reader);
            }

            if (yaml.Documents.Count > 0 && yaml.Documents[0].RootNode is YamlMappingNode root)
            {
                files.Add((Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", root));
            }
        }

        if (files.Count == 0)
        {
            throw new FileNotFoundException("No kubeconfig file found.", string.Join(Path.PathSeparator, paths));
        }

        string contextName = files.Select(f => Scalar(f.Root, "current-context")).FirstOrDefault(n => !string.IsNullOrEmpty(n))
            ?? throw new InvalidDataException("The kubeconfig has no current-context.");
        (YamlMappingNode context, _) = Named(files, "contexts", contextName, "context")
            ?? throw new InvalidDataException($"The kubeconfig's current-context {contextName} is not among its contexts.");
        string clusterName = Scalar(context, "cluster") ?? throw new InvalidDataException($"The kubeconfig context {contextName} names no cluster.");
        (YamlMappingNode cluster, string clusterDirectory) = Named(files, "clusters", clusterName, "cluster")
            ?? throw new InvalidDataException($"The kubeconfig has no cluster {clusterName}.");
        (YamlMappingNode user, string userDirectory) = Scalar(context, "user") is { } userName
            ? Named(files, "users", userName, "user") ?? throw new InvalidDataException($"The kubeconfig has no user {userName}.")
            : (new YamlMappingNode(), clusterDirectory);

        string server = Scalar(cluster, "server") ?? throw new InvalidDataException($"The kubeconfig cluster {clusterName} has no server.");
        if (!Uri.TryCreate(server, UriKind.Absolute, out Uri? serverUri))
        {
            throw new InvalidDataException($"The kubeconfig cluster {clusterName} has no absolute server address.");
        }

        X509Certificate2Collection? authority = null;
        if (Pem(cluster, "certificate-authority", clusterDirectory) is { } authorityPem)
        {
            authority = [];
            authority.ImportFromPem(authorityPem);
        }

        X509Certificate2? clientCertificate = null;
        if (Pem(user, "client-certificate", userDirectory) is { } certificatePem)
        {
            string keyPem = Pem(user, "client-key", userDirectory)
                ?? throw new InvalidDataException("The kubeconfig user has a client certificate but no client key.");
            clientCertificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        }

        KubernetesCredentials credentials = Credentials(user, userDirectory, ref clientCertificate);
        return new KubernetesApiSettings(
            serverUri,
            authority,
            string.Equals(Scalar(cluster, "insecure-skip-tls-verify"), "true", StringComparison.OrdinalIgnoreCase),
            Scalar(cluster, "tls-server-name"),
            clientCertificate,
            credentials);
    }

    private static KubernetesCredentials Credentials(YamlMappingNode user, string directory, ref X509Certificate2? clientCertificate)
    {
        if (Scalar(user, "token") is { Length: > 0 } token)
        {
            return KubernetesCredentials.Bearer(token);
        }

        if (Scalar(user, "tokenFile") is { Length: > 0 } tokenFile)
        {
            return new TokenFileCredentials(Path.Combine(directory, tokenFile));
        }

        if (Scalar(user, "username") is { Length: > 0 } username)
        {
            return KubernetesCredentials.Basic(username, Scalar(user, "password") ?? string.Empty);
        }

        if (Child(user, "exec") is YamlMappingNode exec)
        {
            string command = Scalar(exec, "command") ?? throw new InvalidDataException("The kubeconfig exec plugin names no command.");
            string apiVersion = Scalar(exec, "apiVersion") ?? throw new InvalidDataException("The kubeconfig exec plugin has no apiVersion.");

            // kubectl: a command with a path separator is relative to the kubeconfig, a bare name is looked up in PATH.
            if (command.Contains('/', StringComparison.Ordinal) && !Path.IsPathRooted(command))
            {
                command = Path.Combine(directory, command);
            }

            string[] arguments = Child(exec, "args") is YamlSequenceNode args ? [.. args.OfType<YamlScalarNode>().Select(a => a.Value ?? string.Empty)] : [];
            KeyValuePair<string, string>[] environment = Child(exec, "env") is YamlSequenceNode env
                ? [.. env.OfType<YamlMappingNode>().Where(e => Scalar(e, "name") is not null)
                    .Select(e => KeyValuePair.Create(Scalar(e, "name")!, Scalar(e, "value") ?? string.Empty))]
                : [];
            var plugin = new ExecCredentials(command, arguments, environment, apiVersion);

            // A plugin that hands out a client certificate does so once, here; one that hands out tokens is asked
            // again when they expire.
            Api.ExecCredentialStatus status = plugin.RunAsync(CancellationToken.None).GetAwaiter().GetResult();
            if (!string.IsNullOrEmpty(status.ClientCertificateData) && !string.IsNullOrEmpty(status.ClientKeyData))
            {
                clientCertificate ??= X509Certificate2.CreateFromPem(status.ClientCertificateData, status.ClientKeyData);
            }

            return string.IsNullOrEmpty(status.Token) ? KubernetesCredentials.None : plugin;
        }

        return KubernetesCredentials.None;
    }

    // "NAME-data" holds base64 PEM inline; "NAME" is a path to a PEM file.
    private static string? Pem(YamlMappingNode node, string name, string directory)
    {
        if (Scalar(node, name + "-data") is { Length: > 0 } data)
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(data));
        }

        return Scalar(node, name) is { Length: > 0 } path ? File.ReadAllText(Path.Combine(directory, path)) : null;
    }

    private static (YamlMappingNode Node, string Directory)? Named(List<(string Directory, YamlMappingNode Root)> files, string list, string name, string field)
    {
        foreach ((string directory, YamlMappingNode root) in files)
        {
            if (Child(root, list) is not YamlSequenceNode entries)
            {
                continue;
            }

            foreach (YamlMappingNode entry in entries.OfType<YamlMappingNode>())
            {
                if (string.Equals(Scalar(entry, "name"), name, StringComparison.Ordinal) && Child(entry, field) is YamlMappingNode value)
                {
                    return (value, directory);
                }
            }
        }

        return null;
    }

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? child) ? child : null;

    private static string? Scalar(YamlMappingNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;
}
