{{/* The release's base name: the release name, or release-chart when the release name lacks the chart's. */}}
{{- define "otelpower.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "otelpower.agentName" -}}
{{- printf "%s-agent" (include "otelpower.fullname" .) -}}
{{- end -}}

{{- define "otelpower.collectorName" -}}
{{- printf "%s-collector" (include "otelpower.fullname" .) -}}
{{- end -}}

{{- define "otelpower.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "otelpower.agentName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: the existing account to run the agent as (serviceAccount.create is false)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "otelpower.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: otelpower
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "otelpower.agentSelectorLabels" -}}
app.kubernetes.io/name: otelpower-agent
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "otelpower.collectorSelectorLabels" -}}
app.kubernetes.io/name: otel-collector
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Where the agent pushes OTLP: otlp.endpoint, else the bundled collector's Service. */}}
{{- define "otelpower.otlpEndpoint" -}}
{{- if .Values.otlp.endpoint -}}
{{- .Values.otlp.endpoint -}}
{{- else if .Values.collector.enabled -}}
{{- $port := ternary 4318 4317 (eq .Values.otlp.protocol "http/protobuf") -}}
{{- printf "http://%s:%d" (include "otelpower.collectorName" .) $port -}}
{{- else -}}
{{- fail "otlp.endpoint: where the agents push OTLP (the bundled collector is off: collector.enabled=false)" -}}
{{- end -}}
{{- end -}}
