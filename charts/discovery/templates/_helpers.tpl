{{/* Names, labels and the configuration file of service discovery. */}}

{{/* Base name of the objects: the chart name unless overridden. */}}
{{- define "discovery.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed to the chart name when they differ. */}}
{{- define "discovery.fullname" -}}
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
{{- define "discovery.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "discovery.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "discovery.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: science-platform
{{- end }}

{{/* Labels that select the pods. */}}
{{- define "discovery.selectorLabels" -}}
app.kubernetes.io/name: {{ include "discovery.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Host name of the platform: global.host when set, else ingress.host. */}}
{{- define "discovery.host" -}}
{{- default .Values.ingress.host .Values.global.host }}
{{- end }}

{{/* External URL of the platform (scheme and host). */}}
{{- define "discovery.baseUrl" -}}
{{- if .Values.global.baseUrl }}
{{- .Values.global.baseUrl }}
{{- else if .Values.config.baseUrl }}
{{- .Values.config.baseUrl }}
{{- else }}
{{- printf "%s://%s" (ternary "https" "http" (ne .Values.ingress.tls.secretName "")) (include "discovery.host" .) }}
{{- end }}
{{- end }}

{{/* Image reference: registry/repository:tag (or @digest). */}}
{{- define "discovery.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry }}
{{- $tag := .Values.image.tag | default .Values.global.imageTag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s/%s@%s" $registry .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s/%s:%s" $registry .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The configuration file, keys exactly as rsp_discovery.config.Config names them. */}}
{{- define "discovery.config" -}}
base_url: {{ include "discovery.baseUrl" . | quote }}
environment: {{ default .Values.config.environment .Values.global.environment | quote }}
{{- with .Values.config.environmentName }}
environment_name: {{ . | quote }}
{{- end }}
title: {{ .Values.config.title | quote }}
{{- with .Values.config.docsUrl }}
docs_url: {{ . | quote }}
{{- end }}
enabled_services:
  {{- toYaml .Values.config.enabledServices | nindent 2 }}
datasets:
  {{- toYaml .Values.config.datasets | nindent 2 }}
log_level: {{ .Values.config.logLevel | quote }}
{{- end }}
