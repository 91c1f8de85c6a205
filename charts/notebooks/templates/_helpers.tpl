{{/* Names, labels and the hub settings file of the notebooks chart. */}}

{{/* Base name of the objects: the chart name unless overridden. */}}
{{- define "notebooks.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed to the chart name when they differ. */}}
{{- define "notebooks.fullname" -}}
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
{{- define "notebooks.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "notebooks.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "notebooks.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: science-platform
{{- end }}

{{/* Labels that select the pods. */}}
{{- define "notebooks.selectorLabels" -}}
app.kubernetes.io/name: {{ include "notebooks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Host name of the platform: global.host when set, else ingress.host. */}}
{{- define "notebooks.host" -}}
{{- default .Values.ingress.host .Values.global.host }}
{{- end }}

{{/* External URL of the platform (scheme and host). */}}
{{- define "notebooks.baseUrl" -}}
{{- if .Values.global.baseUrl }}
{{- .Values.global.baseUrl }}
{{- else if .Values.config.instanceUrl }}
{{- .Values.config.instanceUrl }}
{{- else }}
{{- printf "%s://%s" (ternary "https" "http" (ne .Values.ingress.tls.secretName "")) (include "notebooks.host" .) }}
{{- end }}
{{- end }}

{{/* Image reference: registry/repository:tag (or @digest). */}}
{{- define "notebooks.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry }}
{{- $tag := .Values.image.tag | default .Values.global.imageTag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s/%s@%s" $registry .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s/%s:%s" $registry .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The configuration file, keys exactly as rsp_notebooks.config.Config names them. */}}
{{/* Labels of one component (hub, proxy): selects its pods. */}}
{{- define "notebooks.componentLabels" -}}
{{ include "notebooks.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Namespace where labs run. */}}
{{- define "notebooks.labNamespace" -}}
{{- default (include "notebooks.namespace" .) .Values.config.labNamespace }}
{{- end }}

{{/* The hub's settings file, keys exactly as rsp_notebooks.settings.HubSettings names them. */}}
{{- define "notebooks.config" -}}
{{- $fullname := include "notebooks.fullname" . -}}
{{- $namespace := include "notebooks.namespace" . -}}
mode: kubernetes
instance_url: {{ include "notebooks.baseUrl" . | quote }}
gateway_url: {{ .Values.config.gatewayUrl | quote }}
hub_bind_url: "http://0.0.0.0:8081"
hub_connect_url: {{ printf "http://%s-hub.%s.svc.cluster.local:8081" $fullname $namespace | quote }}
public_url: "http://0.0.0.0:8000"
proxy_api_url: {{ printf "http://%s-proxy-api.%s.svc.cluster.local:8001" $fullname $namespace | quote }}
proxy_command: []
db_url: "sqlite:////srv/jupyterhub/jupyterhub.sqlite"
state_dir: /srv/jupyterhub
namespace: {{ include "notebooks.labNamespace" . | quote }}
max_lab_age: {{ .Values.config.maxLabAge }}
idle_timeout: {{ .Values.config.idleTimeout }}
cull_every: {{ .Values.config.cullEvery }}
discovery_url: {{ .Values.config.discoveryUrl | quote }}
butler_repository_index: {{ .Values.config.butlerRepositoryIndex | quote }}
home_size: {{ .Values.config.homeSize | quote }}
home_storage_class: {{ ternary .Values.filestore.storageClassName .Values.config.homeStorageClass .Values.filestore.enabled | quote }}
log_level: {{ .Values.config.logLevel | quote }}
{{- end }}
