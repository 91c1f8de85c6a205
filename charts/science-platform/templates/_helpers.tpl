{{/*
The umbrella chart's own objects: the services' namespaces, the TLS
certificate of the host, the Gateway (optional) and the secret store.
*/}}

{{/* Labels of every object of the umbrella chart. */}}
{{- define "science-platform.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: science-platform
{{- end }}

{{/*
The service charts whose routes the ingress serves, in a stable order: each
of them puts its PlatformIngress resources in its own namespace.
*/}}
{{- define "science-platform.routedServices" -}}
{{- toYaml (list "gateway" "discovery" "notebooks" "tap" "butler") }}
{{- end }}

{{/*
Namespaces of the enabled services, sorted and without repeats, as a YAML
list: each chart's namespaceOverride (or the release namespace), and those
the operator watches (its RBAC Roles live there).
*/}}
{{- define "science-platform.namespaces" -}}
{{- $names := list }}
{{- range $service := append (include "science-platform.routedServices" . | fromYamlArray) "operator" }}
{{- $values := index $.Values $service }}
{{- if $values.enabled }}
{{- $names = append $names (default $.Release.Namespace $values.namespaceOverride) }}
{{- end }}
{{- end }}
{{- if .Values.operator.enabled }}
{{- $names = concat $names ((.Values.operator.config | default dict).namespaces | default list) }}
{{- end }}
{{- toYaml ($names | uniq | sortAlpha) }}
{{- end }}

{{/* Namespaces holding routes, sorted and without repeats, as a YAML list. */}}
{{- define "science-platform.routedNamespaces" -}}
{{- $names := list }}
{{- range $service := include "science-platform.routedServices" . | fromYamlArray }}
{{- $values := index $.Values $service }}
{{- if $values.enabled }}
{{- $names = append $names (default $.Release.Namespace $values.namespaceOverride) }}
{{- end }}
{{- end }}
{{- toYaml ($names | uniq | sortAlpha) }}
{{- end }}
