using YamlDotNet.RepresentationModel;

namespace OtelPower.Deployment.Tests;

public sealed class CollectorConfigTests
{
    private static readonly string[] PipelineKinds = ["receivers", "processors", "exporters"];

    public static TheoryData<string> Configs()
    {
        var data = new TheoryData<string>();
        foreach (var path in YamlFiles.CollectorConfigs())
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }

    private static YamlMappingNode Load(string file) =>
        YamlFiles.LoadSingleMapping(Path.Combine(YamlFiles.CollectorFolder, file));

    [Fact]
    public void Every_variant_is_present()
    {
        var files = YamlFiles.CollectorConfigs().Select(f => Path.GetFileName(f)).ToHashSet();

        Assert.Contains("config.yaml", files);
        Assert.Contains("config-remote-write.yaml", files);
        Assert.Contains("config-mimir.yaml", files);
        Assert.Contains("config-vendor.yaml", files);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Only_components_that_exist_in_collector_contrib_are_named(string file)
    {
        var config = Load(file);
        var catalogs = new Dictionary<string, IReadOnlySet<string>>
        {
            ["receivers"] = CollectorComponentCatalog.Receivers,
            ["processors"] = CollectorComponentCatalog.Processors,
            ["exporters"] = CollectorComponentCatalog.Exporters,
            ["extensions"] = CollectorComponentCatalog.Extensions,
            ["connectors"] = CollectorComponentCatalog.Connectors,
        };

        var topLevel = config.Keys().ToList();
        Assert.All(topLevel, key => Assert.Contains(key, catalogs.Keys.Append("service")));
        foreach (var (section, known) in catalogs)
        {
            foreach (var id in config.Keys(section))
            {
                var type = CollectorComponentCatalog.TypeOf(id);
                Assert.True(known.Contains(type), $"{file}: {section} '{id}' is not a collector-contrib {section[..^1]} type.");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Pipelines_reference_only_defined_components(string file)
    {
        var config = Load(file);
        var pipelines = config.Mapping("service", "pipelines");
        Assert.NotEmpty(pipelines.Children);

        foreach (var (name, pipeline) in pipelines.Children)
        {
            foreach (var kind in PipelineKinds)
            {
                var defined = config.Keys(kind).ToHashSet();
                foreach (var id in pipeline.Texts(kind))
                {
                    Assert.True(defined.Contains(id), $"{file}: pipeline {name} uses {kind} '{id}', which is not defined.");
                }
            }

            Assert.NotEmpty(pipeline.Texts("receivers"));
            Assert.NotEmpty(pipeline.Texts("exporters"));
        }

        var extensions = config.Keys("extensions").ToHashSet();
        Assert.All(config.Texts("service", "extensions"), id => Assert.Contains(id, extensions));
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Every_defined_component_is_used(string file)
    {
        var config = Load(file);
        var pipelines = config.Mapping("service", "pipelines").Children.Values.ToList();

        foreach (var kind in PipelineKinds)
        {
            var used = pipelines.SelectMany(p => p.Texts(kind)).ToHashSet();
            Assert.All(config.Keys(kind), id => Assert.True(used.Contains(id), $"{file}: {kind} '{id}' is defined but in no pipeline."));
        }

        var enabled = config.Texts("service", "extensions").ToHashSet();
        Assert.All(config.Keys("extensions"), id => Assert.True(enabled.Contains(id), $"{file}: extension '{id}' is not enabled."));
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Memory_limiter_is_first_and_batch_is_last(string file)
    {
        foreach (var (name, pipeline) in Load(file).Mapping("service", "pipelines").Children)
        {
            var processors = pipeline.Texts("processors").Select(CollectorComponentCatalog.TypeOf).ToList();
            Assert.True(processors.Count >= 2, $"{file}: pipeline {name} needs memory_limiter and batch.");
            Assert.Equal("memory_limiter", processors[0]);
            Assert.Equal("batch", processors[^1]);
        }
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Otlp_is_received_on_the_standard_ports(string file)
    {
        var config = Load(file);

        Assert.Equal("0.0.0.0:4317", config.Text("receivers", "otlp", "protocols", "grpc", "endpoint"));
        Assert.Equal("0.0.0.0:4318", config.Text("receivers", "otlp", "protocols", "http", "endpoint"));
        Assert.All(config.Mapping("service", "pipelines").Children.Values, p => Assert.Contains("otlp", p.Texts("receivers")));
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Health_check_is_enabled_and_reachable_from_outside_the_container(string file)
    {
        var config = Load(file);

        Assert.Contains("health_check", config.Texts("service", "extensions"));
        Assert.Equal("0.0.0.0:13133", config.Text("extensions", "health_check", "endpoint"));
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Cluster_name_comes_from_the_environment(string file)
    {
        var config = Load(file);
        var attributes = config.Sequence("processors", "resource", "attributes");

        var cluster = Assert.Single(attributes, a => a.Text("key") == "k8s.cluster.name");
        Assert.Equal("${env:K8S_CLUSTER_NAME}", cluster.Text("value"));
        Assert.All(config.Mapping("service", "pipelines").Children.Values, p => Assert.Contains("resource", p.Texts("processors")));
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Sums_stay_cumulative(string file)
    {
        // Prometheus remote write and Prometheus itself drop delta sums.
        var processorTypes = Load(file).Keys("processors").Select(CollectorComponentCatalog.TypeOf);

        Assert.DoesNotContain("cumulativetodelta", processorTypes);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Prometheus_exporters_turn_resource_attributes_into_labels(string file)
    {
        var config = Load(file);

        foreach (var id in config.Keys("exporters"))
        {
            var type = CollectorComponentCatalog.TypeOf(id);
            if (type is "prometheus" or "prometheusremotewrite")
            {
                Assert.Equal("true", config.Text("exporters", id, "resource_to_telemetry_conversion", "enabled"));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void K8sattributes_associates_by_pod_uid_lifted_to_the_resource(string file)
    {
        // On a DaemonSet agent the connection is the agent's own pod: any other association would
        // stamp the agent on every series.
        var config = Load(file);

        foreach (var id in config.Keys("processors").Where(id => CollectorComponentCatalog.TypeOf(id) is "k8sattributes" or "k8s_attributes"))
        {
            var association = Assert.Single(config.Sequence("processors", id, "pod_association"));
            var source = Assert.Single(association.Sequence("sources"));
            Assert.Equal("resource_attribute", source.Text("from"));
            Assert.Equal("k8s.pod.uid", source.Text("name"));

            foreach (var (name, pipeline) in config.Mapping("service", "pipelines").Children)
            {
                var processors = pipeline.Texts("processors").ToList();
                var at = processors.IndexOf(id);
                if (at < 0)
                {
                    continue;
                }

                var lifting = processors.Take(at).Where(p => CollectorComponentCatalog.TypeOf(p) == "groupbyattrs");
                Assert.True(
                    lifting.Any(p => config.Texts("processors", p, "keys").Contains("k8s.pod.uid")),
                    $"{file}: pipeline {name} runs {id} before any groupbyattrs lifts k8s.pod.uid to the resource.");
            }
        }
    }

    [Fact]
    public void Mimir_gets_otlp_at_its_otlp_path_with_a_tenant()
    {
        var config = Load("config-mimir.yaml");
        var id = Assert.Single(config.Keys("exporters"));

        Assert.Contains(CollectorComponentCatalog.TypeOf(id), new[] { "otlphttp", "otlp_http" });
        Assert.Equal("${env:MIMIR_ENDPOINT}/otlp", config.Text("exporters", id, "endpoint"));
        Assert.StartsWith("${env:", config.Text("exporters", id, "headers", "X-Scope-OrgID"), StringComparison.Ordinal);
    }

    [Fact]
    public void Vendor_endpoint_and_headers_come_from_the_environment()
    {
        var config = Load("config-vendor.yaml");
        var id = Assert.Single(config.Keys("exporters"));

        Assert.Contains(CollectorComponentCatalog.TypeOf(id), new[] { "otlp", "otlp_grpc", "otlphttp", "otlp_http" });
        Assert.StartsWith("${env:", config.Text("exporters", id, "endpoint"), StringComparison.Ordinal);
        var headers = config.Mapping("exporters", id, "headers");
        Assert.NotEmpty(headers.Children);
        Assert.All(headers.Children.Values, v => Assert.StartsWith("${env:", ((YamlScalarNode)v).Value, StringComparison.Ordinal));
    }

    [Fact]
    public void Remote_write_endpoint_comes_from_the_environment()
    {
        var config = Load("config-remote-write.yaml");

        Assert.Equal("${env:PROMETHEUS_REMOTE_WRITE_ENDPOINT}", config.Text("exporters", "prometheusremotewrite", "endpoint"));
    }

    [Fact]
    public void The_default_config_serves_prometheus_on_8889()
    {
        Assert.Equal("0.0.0.0:8889", Load("config.yaml").Text("exporters", "prometheus", "endpoint"));
    }

    [Fact]
    public void Type_of_a_named_component_is_the_part_before_the_slash()
    {
        Assert.Equal("otlphttp", CollectorComponentCatalog.TypeOf("otlphttp/mimir"));
        Assert.Equal("batch", CollectorComponentCatalog.TypeOf("batch"));
    }
}
