using System.Buffers;
using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace OtelPower.Agent.Exporters.Prometheus;

/// <summary>
/// Writes a collected batch in the Prometheus text exposition format 0.0.4, with the names OpenTelemetry's
/// Prometheus compatibility rules give (the ones OpenTelemetry's own Prometheus exporter writes): dots become
/// underscores, the unit is a suffix (<c>J</c> joules, <c>W</c> watts, <c>By</c> bytes; <c>1</c> and
/// <c>{annotations}</c> none), counters end in <c>_total</c>, the scope is in <c>otel_scope_*</c> labels and
/// the resource in <c>target_info</c>. No timestamps: Prometheus stamps each scrape itself.
/// </summary>
/// <remarks>
/// One instance serves one reader and reuses its buffer, so a scrape allocates nothing once the buffer has
/// grown to the page's size. Not thread-safe: the endpoint serialises scrapes.
/// </remarks>
internal sealed class PrometheusTextSerializer
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private readonly Dictionary<Metric, string> _sampleNames = new(ReferenceEqualityComparer.Instance);

    // Attribute keys repeat on every point of every scrape: sanitise each once.
    private readonly Dictionary<string, string> _labelNames = new(StringComparer.Ordinal);

    /// <summary>The page written since the last <see cref="Begin"/>.</summary>
    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    /// <summary>Starts a new page with <c>target_info</c> for <paramref name="resource"/>.</summary>
    public void Begin(Resource? resource)
    {
        _buffer.ResetWrittenCount();
        if (resource is null || !resource.Attributes.Any())
        {
            return;
        }

        WriteAscii("# TYPE target_info gauge\n# HELP target_info Target metadata\ntarget_info{");
        var first = true;
        foreach (var attribute in resource.Attributes)
        {
            WriteLabel(attribute.Key, attribute.Value, ref first);
        }

        WriteAscii("} 1\n");
    }

    /// <summary>Appends one metric family: its TYPE and HELP lines and one sample per point.</summary>
    public void Write(Metric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        var kind = KindOf(metric.MetricType);
        if (kind is SampleKind.Unsupported)
        {
            // The agent's meters have no histograms; a family we cannot render is left out, not mangled.
            return;
        }

        if (!_sampleNames.TryGetValue(metric, out var sampleName))
        {
            sampleName = SampleName(metric.Name, metric.Unit, kind is SampleKind.Counter);
            _sampleNames[metric] = sampleName;
        }

        WriteAscii("# TYPE ");
        WriteAscii(sampleName);
        WriteAscii(kind is SampleKind.Counter ? " counter\n" : " gauge\n");
        if (!string.IsNullOrEmpty(metric.Description))
        {
            WriteAscii("# HELP ");
            WriteAscii(sampleName);
            WriteAscii(" ");
            WriteEscaped(metric.Description, escapeQuotes: false);
            WriteAscii("\n");
        }

        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            WriteAscii(sampleName);
            WriteAscii("{otel_scope_name=\"");
            WriteEscaped(metric.MeterName, escapeQuotes: true);
            WriteAscii("\"");
            var first = false;
            if (!string.IsNullOrEmpty(metric.MeterVersion))
            {
                WriteLabel("otel_scope_version", metric.MeterVersion, ref first);
            }

            if (!string.IsNullOrEmpty(metric.MeterSchemaUrl))
            {
                WriteLabel("otel_scope_schema_url", metric.MeterSchemaUrl, ref first);
            }

            foreach (var tag in point.Tags)
            {
                WriteLabel(tag.Key, tag.Value, ref first);
            }

            WriteAscii("} ");
            switch (metric.MetricType)
            {
                case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                    WriteNumber(point.GetSumLong());
                    break;
                case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                    WriteNumber(point.GetSumDouble());
                    break;
                case MetricType.LongGauge:
                    WriteNumber(point.GetGaugeLastValueLong());
                    break;
                default:
                    WriteNumber(point.GetGaugeLastValueDouble());
                    break;
            }

            WriteAscii("\n");
        }
    }

    /// <summary>The sample name of <paramref name="name"/> with <paramref name="unit"/>, as a counter or a gauge.</summary>
    internal static string SampleName(string name, string? unit, bool counter)
    {
        var sampleName = SanitizeName(name, allowColon: true);
        if (UnitSuffix(unit) is { } suffix
            && !sampleName.EndsWith(suffix, StringComparison.Ordinal)
            && !(counter && sampleName.EndsWith(suffix + "_total", StringComparison.Ordinal)))
        {
            sampleName += "_" + suffix;
        }

        if (counter && !sampleName.EndsWith("_total", StringComparison.Ordinal))
        {
            sampleName += "_total";
        }

        return sampleName;
    }

    /// <summary>A label or metric name: characters outside [A-Za-z0-9_] (and ':' for metrics) become one '_'; no leading digit.</summary>
    internal static string SanitizeName(string name, bool allowColon)
    {
        var sanitized = new StringBuilder(name.Length + 1);
        var lastWasUnderscore = false;
        foreach (var c in name)
        {
            if (char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':'))
            {
                if (sanitized.Length == 0 && char.IsAsciiDigit(c))
                {
                    sanitized.Append('_');
                }

                sanitized.Append(c);
                lastWasUnderscore = c == '_';
            }
            else if (!lastWasUnderscore)
            {
                sanitized.Append('_');
                lastWasUnderscore = true;
            }
        }

        return sanitized.ToString();
    }

    /// <summary>The name suffix for a UCUM unit: the common units spelled out, annotations and dimensionless "1" dropped.</summary>
    internal static string? UnitSuffix(string? unit)
    {
        if (string.IsNullOrEmpty(unit))
        {
            return null;
        }

        var withoutAnnotations = RemoveAnnotations(unit);
        var suffix = withoutAnnotations switch
        {
            "" or "1" => null,
            "J" => "joules",
            "W" => "watts",
            "By" => "bytes",
            "s" => "seconds",
            "ms" => "milliseconds",
            "Hz" => "hertz",
            "Cel" => "celsius",
            "V" => "volts",
            "A" => "amperes",
            "%" => "percent",
            _ => SanitizeName(withoutAnnotations.Replace("/", "_per_", StringComparison.Ordinal), allowColon: false).Trim('_'),
        };
        return string.IsNullOrEmpty(suffix) ? null : suffix;
    }

    private static string RemoveAnnotations(string unit)
    {
        var text = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && depth > 0)
            {
                depth--;
            }
            else if (depth == 0)
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    private static SampleKind KindOf(MetricType type) => type switch
    {
        MetricType.LongSum or MetricType.DoubleSum => SampleKind.Counter,
        MetricType.LongGauge or MetricType.DoubleGauge or MetricType.LongSumNonMonotonic or MetricType.DoubleSumNonMonotonic => SampleKind.Gauge,
        _ => SampleKind.Unsupported,
    };

    private void WriteLabel(string key, object? value, ref bool first)
    {
        if (!first)
        {
            WriteAscii(",");
        }

        first = false;
        if (!_labelNames.TryGetValue(key, out var labelName))
        {
            labelName = SanitizeName(key, allowColon: false);
            _labelNames[key] = labelName;
        }

        WriteAscii(labelName);
        WriteAscii("=\"");
        WriteEscaped(value switch
        {
            null => string.Empty,
            string text => text,
            bool flag => flag ? "true" : "false",
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        }, escapeQuotes: true);
        WriteAscii("\"");
    }

    private void WriteNumber(double number)
    {
        if (double.IsPositiveInfinity(number))
        {
            WriteAscii("+Inf");
        }
        else if (double.IsNegativeInfinity(number))
        {
            WriteAscii("-Inf");
        }
        else if (double.IsNaN(number))
        {
            WriteAscii("NaN");
        }
        else
        {
            var span = _buffer.GetSpan(32);
            number.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
            _buffer.Advance(written);
        }
    }

    private void WriteNumber(long number)
    {
        var span = _buffer.GetSpan(24);
        number.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        _buffer.Advance(written);
    }

    /// <summary>
    /// Label values escape backslash, double quote and line feed; HELP text escapes backslash and line feed.
    /// Anything else (a hostile process name included) is written as UTF-8 as it is.
    /// </summary>
    private void WriteEscaped(string text, bool escapeQuotes)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var escape = text[i] switch
            {
                '\\' => "\\\\",
                '\n' => "\\n",
                '"' when escapeQuotes => "\\\"",
                _ => null,
            };
            if (escape is not null)
            {
                WriteUtf8(text.AsSpan(start, i - start));
                WriteAscii(escape);
                start = i + 1;
            }
        }

        WriteUtf8(text.AsSpan(start));
    }

    private void WriteAscii(string text) => WriteUtf8(text);

    private void WriteUtf8(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var span = _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        _buffer.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    private enum SampleKind
    {
        Unsupported,
        Counter,
        Gauge,
    }
}
