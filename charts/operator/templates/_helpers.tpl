{{/*
Names, labels, the operator's settings file and its RBAC rules.
*/}}

{{/* Base name of the objects: the chart name unless overridden. */}}
{{- define "operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed to the chart name when they differ. */}}
{{- define "operator.fullname" -}}
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

{{/* Namespace of every namespaced object. */}}
{{- define "operator.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: science-platform
{{- end }}

{{/* Labels that select the operator's pod. */}}
{{- define "operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Image reference: registry/repository:tag (or @digest). */}}
{{- define "operator.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry }}
{{- $tag := .Values.image.tag | default .Values.global.imageTag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s/%s@%s" $registry .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s/%s:%s" $registry .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The operator's settings file, keys exactly as rsp_operator.config.OperatorSettings
names them. The admin token is not here: it reaches the process as an
environment variable from the Secret.
*/}}
{{- define "operator.config" -}}
{{- $c := .Values.config }}
{{- $api := $c.gatewayApi }}
{{- $gatewayApi := dict "gateway_name" $api.gatewayName "gateway_namespace" $api.gatewayNamespace }}
{{- with $api.sectionName }}
{{- $_ := set $gatewayApi "section_name" . }}
{{- end }}
{{- $config := dict
  "host" (default $c.host .Values.global.host)
  "gateway_url" $c.gatewayUrl
  "ingress_flavour" (default $c.ingressFlavour .Values.global.ingressFlavour)
  "ingress_class_name" $c.ingressClassName
  "gateway_api" $gatewayApi
  "token_check_interval" $c.tokenCheckInterval
  "resync_seconds" $c.resyncSeconds
  "namespaces" $c.namespaces
  "log_level" $c.logLevel
  "log_json" $c.logJson
}}
{{- with (default $c.baseUrl .Values.global.baseUrl) }}
{{- $_ := set $config "base_url" . }}
{{- end }}
{{- with $c.tlsSecretName }}
{{- $_ := set $config "tls_secret_name" . }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* Where the settings file is mounted, and its name. */}}
{{- define "operator.configDir" -}}/etc/rsp-operator{{- end }}
{{- define "operator.configFile" -}}operator.yaml{{- end }}

{{/*
The least the operator needs, in each watched namespace (or cluster-wide):
kopf watches and patches (finalizer, annotations) its two resources and
their status; ServiceTokens make and replace Secrets; PlatformIngresses make,
replace and delete Ingresses, HTTPRoutes and Envoy Gateway SecurityPolicies;
both post events. No peering (kopf runs --standalone), no CRD watching.
*/}}
{{- define "operator.rules" -}}
- apiGroups: ["science-platform.dev"]
  resources: ["platformingresses", "servicetokens"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["science-platform.dev"]
  resources: ["platformingresses/status", "servicetokens/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "create", "update", "patch", "delete"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "list", "create", "update", "patch", "delete"]
- apiGroups: ["gateway.envoyproxy.io"]
  resources: ["securitypolicies"]
  verbs: ["get", "list", "create", "update", "patch", "delete"]
{{- end }}
