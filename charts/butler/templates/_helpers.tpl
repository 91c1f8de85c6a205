{{/* Names, labels and the configuration file of service butler. */}}

{{/* Base name of the objects: the chart name unless overridden. */}}
{{- define "butler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed to the chart name when they differ. */}}
{{- define "butler.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Namespace of every object. */}}
{{- define "butler.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "butler.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "butler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: science-platform
{{- end }}

{{/* Labels that select the pods. */}}
{{- define "butler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "butler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Host name of the platform: global.host when set, else ingress.host. */}}
{{- define "butler.host" -}}
{{- default .Values.ingress.host .Values.global.host }}
{{- end }}

{{/* External URL of the platform (scheme and host). */}}
{{- define "butler.baseUrl" -}}
{{- if .Values.global.baseUrl }}
{{- .Values.global.baseUrl }}
{{- else if .Values.config.baseUrl }}
{{- .Values.config.baseUrl }}
{{- else }}
{{- printf "%s://%s" (ternary "https" "http" (ne .Values.ingress.tls.secretName "")) (include "butler.host" .) }}
{{- end }}
{{- end }}

{{/* Image reference: registry/repository:tag (or @digest). */}}
{{- define "butler.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry }}
{{- $tag := .Values.image.tag | default .Values.global.imageTag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s/%s@%s" $registry .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s/%s:%s" $registry .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The repository index: label -> <baseUrl>/api/butler/repo/<label>/butler.yaml. */}}
{{- define "butler.index" -}}
{{- $base := include "butler.baseUrl" . | trimSuffix "/" }}
{{- range $label, $_ := .Values.config.repositories }}
{{ $label }}: {{ printf "%s/api/butler/repo/%s/butler.yaml" $base $label }}
{{- end }}
{{- end }}

{{/* DAF_BUTLER_SERVER_REPOSITORIES: the library's own JSON setting. */}}
{{- define "butler.repositories" -}}
{{- $out := dict }}
{{- range $label, $repo := .Values.config.repositories }}
{{- $_ := set $out $label (dict "config_uri" $repo.configUri "authorized_groups" $repo.authorizedGroups) }}
{{- end }}
{{- toJson $out }}
{{- end }}
