{{/*
Names, labels and the pieces shared by the TAP server and its migration Job
(same image, configuration, secrets and security).
*/}}

{{/* Base name of the objects: the chart name unless overridden. */}}
{{- define "tap.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed to the chart name when they differ. */}}
{{- define "tap.fullname" -}}
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
{{- define "tap.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "tap.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tap.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: science-platform
{{- end }}

{{/* Labels that select the service's pods (all components). */}}
{{- define "tap.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Host name of the platform: global.host when set, else ingress.host. */}}
{{- define "tap.host" -}}
{{- default .Values.ingress.host .Values.global.host }}
{{- end }}

{{/* External URL of the platform (scheme and host). */}}
{{- define "tap.baseUrl" -}}
{{- if .Values.global.baseUrl }}
{{- .Values.global.baseUrl }}
{{- else if .Values.config.baseUrl }}
{{- .Values.config.baseUrl }}
{{- else }}
{{- printf "%s://%s" (ternary "https" "http" (ne .Values.ingress.tls.secretName "")) (include "tap.host" .) }}
{{- end }}
{{- end }}

{{/* Environment name: global.environment when set, else config.environment. */}}
{{- define "tap.environment" -}}
{{- default .Values.config.environment .Values.global.environment }}
{{- end }}

{{/* Image reference: registry/repository:tag (or @digest). */}}
{{- define "tap.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry }}
{{- $tag := .Values.image.tag | default .Values.global.imageTag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s/%s@%s" $registry .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s/%s:%s" $registry .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Where the local result storage is mounted. */}}
{{- define "tap.resultsDir" -}}/var/lib/rsp-tap/results{{- end }}

{{/*
The service's configuration file, keys exactly as rsp_tap.config.Config
names them. Database URLs are not here: they reach the process as
environment variables built from the Secret (see tap.env).
*/}}
{{- define "tap.config" -}}
{{- $c := .Values.config }}
{{- $storage := .Values.resultStorage }}
{{- $environment := include "tap.environment" . }}
{{- $results := dict "type" $storage.type }}
{{- if eq $storage.type "gcs" }}
{{- $_ := set $results "bucket" (required "resultStorage.bucket is required with type gcs" $storage.bucket) }}
{{- $_ := set $results "prefix" $storage.prefix }}
{{- $_ := set $results "url_lifetime" $storage.urlLifetime }}
{{- with $storage.serviceAccountEmail }}
{{- $_ := set $results "service_account_email" . }}
{{- end }}
{{- else }}
{{- if ne $environment "local" }}
{{- fail (printf "resultStorage.type local is for the local environment only, not %q: use a gcs bucket" $environment) }}
{{- end }}
{{- $_ := set $results "path" (include "tap.resultsDir" .) }}
{{- end }}
{{- $config := dict
  "environment" $environment
  "base_url" (include "tap.baseUrl" .)
  "database_pool_size" $c.databasePoolSize
  "query_pool_size" $c.queryPoolSize
  "narrow_projections" $c.narrowProjections
  "max_concurrent_queries" $c.maxConcurrentQueries
  "maxrec_default" $c.maxrecDefault
  "maxrec_limit" $c.maxrecLimit
  "sync_timeout" $c.syncTimeout
  "execution_duration_default" $c.executionDurationDefault
  "execution_duration_max" $c.executionDurationMax
  "destruction_default" $c.destructionDefault
  "destruction_max" $c.destructionMax
  "wait_max" $c.waitMax
  "cleanup_interval" $c.cleanupInterval
  "upload_max_bytes" $c.uploadMaxBytes
  "upload_max_rows" $c.uploadMaxRows
  "upload_max_tables" $c.uploadMaxTables
  "upload_url_timeout" $c.uploadUrlTimeout
  "result_storage" $results
  "log_level" $c.logLevel
  "log_json" $c.logJson
}}
{{- toYaml $config }}
{{- end }}

{{/* Where the configuration file is mounted, and its name. */}}
{{- define "tap.configDir" -}}/etc/rsp-tap{{- end }}
{{- define "tap.configFile" -}}tap.yaml{{- end }}

{{/* A variable read from a key of the service's Secret. */}}
{{- define "tap.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}

{{/*
Environment of every TAP container: the configuration file, then the two
database URLs. URLs that embed a password are composed by Kubernetes from
the password variable ($(VAR) expansion), so no password is in values.
*/}}
{{- define "tap.env" -}}
{{- $secret := required "secrets.name: name of the existing Secret of the TAP service" .Values.secrets.name -}}
- name: RSP_TAP_CONFIG_PATH
  value: {{ printf "%s/%s" (include "tap.configDir" .) (include "tap.configFile" .) }}
{{- $db := .Values.database }}
{{- if $db.urlFromSecret }}
{{ include "tap.secretEnv" (dict "name" "RSP_TAP_DATABASE_URL" "secret" $secret "key" "database-url") }}
{{- else }}
{{ include "tap.secretEnv" (dict "name" "DATABASE_PASSWORD" "secret" $secret "key" "database-password") }}
- name: RSP_TAP_DATABASE_URL
  value: {{ printf "postgresql+asyncpg://%s:$(DATABASE_PASSWORD)@%s:%d/%s" $db.user (required "database.host is required" $db.host) (int $db.port) $db.name | quote }}
{{- end }}
{{- $query := .Values.queryDatabase }}
{{- if $query.urlFromSecret }}
{{ include "tap.secretEnv" (dict "name" "RSP_TAP_QUERY_DATABASE_URL" "secret" $secret "key" "query-database-url") }}
{{- else }}
{{ include "tap.secretEnv" (dict "name" "QUERY_DATABASE_PASSWORD" "secret" $secret "key" "query-database-password") }}
- name: RSP_TAP_QUERY_DATABASE_URL
  value: {{ printf "postgresql://%s:$(QUERY_DATABASE_PASSWORD)@%s:%d/%s" $query.user (default $db.host $query.host) (int $query.port) $query.name | quote }}
{{- end }}
{{- end }}

{{/* Pod-level security: a non-root user, RuntimeDefault seccomp. */}}
{{- define "tap.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security: nothing to escalate to, nothing to write. */}}
{{- define "tap.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
{{- end }}

{{/* Volumes of every TAP pod: the configuration, /tmp, local results. */}}
{{- define "tap.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.tmpSize }}
{{- if and .results (eq .root.Values.resultStorage.type "local") }}
- name: results
  emptyDir:
    sizeLimit: {{ .root.Values.resultStorage.localSize }}
{{- end }}
{{- end }}

{{- define "tap.volumeMounts" -}}
- name: config
  mountPath: {{ include "tap.configDir" .root }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if and .results (eq .root.Values.resultStorage.type "local") }}
- name: results
  mountPath: {{ include "tap.resultsDir" .root }}
{{- end }}
{{- end }}

{{/* Scheduling settings shared by all pods. */}}
{{- define "tap.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
