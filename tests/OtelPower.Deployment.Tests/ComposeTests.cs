using YamlDotNet.RepresentationModel;

namespace OtelPower.Deployment.Tests;

public sealed class ComposeTests
{
    private static readonly YamlMappingNode Compose =
        YamlFiles.LoadSingleMapping(Path.Combine(YamlFiles.CollectorFolder, "docker-compose.yaml"));

    private static YamlNode Service(string name) => Compose.At("services", name) ?? throw new Xunit.Sdk.XunitException($"No service {name}.");

    private static List<string> Args(string service) => Service(service).Texts("command").ToList();

    private static string? ArgumentAfter(List<string> args, string flag)
    {
        var at = args.IndexOf(flag);
        return at >= 0 && at + 1 < args.Count ? args[at + 1] : null;
    }

    /// <summary>Short-syntax volumes as (source, target, options).</summary>
    private static IEnumerable<(string Source, string Target, string Options)> Volumes(string service) =>
        Service(service).Texts("volumes").Select(v =>
        {
            var parts = v.Split(':');
            return (parts[0], parts[1], parts.Length > 2 ? parts[2] : "");
        });

    [Fact]
    public void The_stack_has_agent_collector_prometheus_and_grafana()
    {
        Assert.Equal(
            ["agent", "grafana", "otel-collector", "prometheus"],
            Compose.Keys("services").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_agent_is_built_from_the_repository_dockerfile()
    {
        var context = Path.GetFullPath(Path.Combine(YamlFiles.CollectorFolder, Service("agent").Text("build", "context")!));

        Assert.Equal(RepositoryRoot.Path.TrimEnd('/'), context.TrimEnd('/'));
        Assert.True(File.Exists(Path.Combine(context, Service("agent").Text("build", "dockerfile")!)));
    }

    [Fact]
    public void The_agent_reads_the_host_read_only()
    {
        var agent = Service("agent");
        var args = Args("agent");

        Assert.Equal("host", agent.Text("pid"));
        // The host's cgroup namespace, so /proc/<pid>/cgroup paths are the host's, not relative ones.
        Assert.Equal("host", agent.Text("cgroup"));
        var proc = Assert.Single(Volumes("agent"), v => v.Source == "/proc");
        var sys = Assert.Single(Volumes("agent"), v => v.Source == "/sys");
        Assert.Equal("ro", proc.Options);
        Assert.Equal("ro", sys.Options);
        Assert.Equal(proc.Target, ArgumentAfter(args, "--procfs"));
        Assert.Equal(sys.Target, ArgumentAfter(args, "--sysfs"));
        Assert.Equal($"{sys.Target}/fs/cgroup", ArgumentAfter(args, "--cgroupfs"));
    }

    [Fact]
    public void The_agent_pushes_otlp_to_the_collector_service()
    {
        var args = Args("agent");
        var endpoint = new Uri(ArgumentAfter(args, "--otlp-endpoint")!);

        Assert.Contains("otlp", ArgumentAfter(args, "--exporter")!.Split(','));
        Assert.Equal("otel-collector", endpoint.Host);
        Assert.Equal(4317, endpoint.Port);
        Assert.Equal("grpc", ArgumentAfter(args, "--otlp-protocol"));
    }

    [Fact]
    public void Relative_mounts_point_at_files_in_the_repository()
    {
        foreach (var service in Compose.Keys("services"))
        {
            foreach (var (source, _, _) in Volumes(service).Where(v => v.Source.StartsWith('.')))
            {
                var path = Path.Combine(YamlFiles.CollectorFolder, source);
                Assert.True(File.Exists(path) || Directory.Exists(path), $"{service} mounts {source}, which does not exist.");
            }
        }
    }

    [Fact]
    public void The_collector_runs_the_default_config()
    {
        var config = Assert.Single(Volumes("otel-collector"), v => v.Source == "./config.yaml");

        Assert.Contains($"--config={config.Target}", Args("otel-collector"));
    }

    [Fact]
    public void Prometheus_scrapes_the_collectors_exporter()
    {
        var mount = Assert.Single(Volumes("prometheus"), v => v.Target == "/etc/prometheus/prometheus.yml");
        var prometheus = YamlFiles.LoadSingleMapping(Path.Combine(YamlFiles.CollectorFolder, mount.Source));
        var job = Assert.Single(prometheus.Sequence("scrape_configs"));
        var exporterPort = YamlFiles.LoadSingleMapping(Path.Combine(YamlFiles.CollectorFolder, "config.yaml"))
            .Text("exporters", "prometheus", "endpoint")!.Split(':')[^1];

        Assert.Contains($"otel-collector:{exporterPort}", job.Sequence("static_configs").SelectMany(c => c.Texts("targets")));
        Assert.Equal("true", job.Text("honor_labels"));
        Assert.Contains($"--config.file={mount.Target}", Args("prometheus"));
    }

    [Fact]
    public void Prometheus_loads_the_carbon_rules_mounted_beside_its_config()
    {
        var config = Assert.Single(Volumes("prometheus"), v => v.Target == "/etc/prometheus/prometheus.yml");
        var prometheus = YamlFiles.LoadSingleMapping(Path.Combine(YamlFiles.CollectorFolder, config.Source));
        var ruleFile = Assert.Single(prometheus.Texts("rule_files"));
        var rules = Assert.Single(Volumes("prometheus"), v => v.Target == $"/etc/prometheus/{ruleFile}");

        Assert.Equal("./prometheus/carbon.rules.yaml", rules.Source);
        Assert.True(File.Exists(Path.Combine(YamlFiles.CollectorFolder, rules.Source)));
    }

    [Theory]
    [InlineData("grafana", "3000")]
    [InlineData("prometheus", "9090")]
    public void The_ui_is_published_on_its_usual_port(string service, string port)
    {
        Assert.Contains($"{port}:{port}", Service(service).Texts("ports"));
    }

    [Fact]
    public void Grafana_is_provisioned_with_prometheus_and_the_dashboards()
    {
        var provisioning = Assert.Single(Volumes("grafana"), v => v.Target == "/etc/grafana/provisioning");
        var dashboards = Assert.Single(Volumes("grafana"), v => v.Source == "./grafana/dashboards");
        var provisioningDir = Path.Combine(YamlFiles.CollectorFolder, provisioning.Source);

        var datasources = YamlFiles.LoadSingleMapping(Path.Combine(provisioningDir, "datasources", "prometheus.yaml"));
        var datasource = Assert.Single(datasources.Sequence("datasources"));
        Assert.Equal("prometheus", datasource.Text("type"));
        Assert.Equal("http://prometheus:9090", datasource.Text("url"));

        var providers = YamlFiles.LoadSingleMapping(Path.Combine(provisioningDir, "dashboards", "otelpower.yaml"));
        var provider = Assert.Single(providers.Sequence("providers"));
        Assert.Equal(dashboards.Target, provider.Text("options", "path"));
        Assert.True(File.Exists(Path.Combine(YamlFiles.CollectorFolder, dashboards.Source, Path.GetFileName(DashboardQueries.DashboardPath))));
    }
}
