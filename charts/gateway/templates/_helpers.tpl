{{/*
Names, labels and the pieces shared by the gateway's server, migration Job
and maintenance CronJob (same image, configuration, secrets and security).
*/}}

{{/* Base name of the objects: the chart name unless overridden. */}}
{{- define "gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed to the chart name when they differ. */}}
{{- define "gateway.fullname" -}}
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
{{- define "gateway.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: science-platform
{{- end }}

{{/* Labels that select the gateway's pods (all components). */}}
{{- define "gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Host name of the platform: global.host when set, else ingress.host. */}}
{{- define "gateway.host" -}}
{{- default .Values.ingress.host .Values.global.host }}
{{- end }}

{{/* External URL of the platform (scheme and host). */}}
{{- define "gateway.baseUrl" -}}
{{- if .Values.global.baseUrl }}
{{- .Values.global.baseUrl }}
{{- else if .Values.config.baseUrl }}
{{- .Values.config.baseUrl }}
{{- else }}
{{- printf "%s://%s" (ternary "https" "http" (ne .Values.ingress.tls.secretName "")) (include "gateway.host" .) }}
{{- end }}
{{- end }}

{{/* Environment name: global.environment when set, else config.environment. */}}
{{- define "gateway.environment" -}}
{{- default .Values.config.environment .Values.global.environment }}
{{- end }}

{{/* Image reference: registry/repository:tag (or @digest). */}}
{{- define "gateway.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry }}
{{- $tag := .Values.image.tag | default .Values.global.imageTag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s/%s@%s" $registry .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s/%s:%s" $registry .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The gateway's configuration file, keys exactly as rsp_gateway.config.Config
names them. Secrets are not here: they reach the process as environment
variables from the Secret (see gateway.env).
*/}}
{{- define "gateway.config" -}}
{{- $c := .Values.config }}
{{- $environment := include "gateway.environment" . }}
{{- if and $c.devLogin (ne $environment "local") }}
{{- fail (printf "config.devLogin is allowed only in the local environment, not %q" $environment) }}
{{- end }}
{{- if not (or $c.devLogin .Values.github.enabled) }}
{{- fail "no login method: enable github (or config.devLogin in the local environment)" }}
{{- end }}
{{- $config := dict
  "environment" $environment
  "base_url" (include "gateway.baseUrl" .)
  "database_pool_size" $c.databasePoolSize
  "dev_login" $c.devLogin
  "session_lifetime" $c.sessionLifetime
  "group_refresh_interval" $c.groupRefreshInterval
  "notebook_token_lifetime" $c.notebookTokenLifetime
  "history_retention" $c.historyRetention
  "cookie_name" $c.cookieName
  "cache_ttl" $c.cacheTtl
  "log_level" $c.logLevel
  "log_json" $c.logJson
}}
{{- $redis := .Values.redis }}
{{- if $redis.enabled }}
{{- $_ := set $config "redis_prefix" $redis.prefix }}
{{- $_ := set $config "redis_tls_check_hostname" $redis.checkHostname }}
{{- if $redis.caFromSecret }}
{{- if not $redis.tls }}
{{- fail "redis.caFromSecret needs redis.tls: without TLS the CA would not be used" }}
{{- end }}
{{- $_ := set $config "redis_ca_file" (include "gateway.redisCaFile" .) }}
{{- end }}
{{- end }}
{{- with $c.knownScopes }}
{{- $_ := set $config "known_scopes" . }}
{{- end }}
{{- with $c.groupMapping }}
{{- $_ := set $config "group_mapping" . }}
{{- end }}
{{- with $c.trustedProxies }}
{{- $_ := set $config "trusted_proxies" . }}
{{- end }}
{{- if .Values.github.enabled }}
{{- $github := dict "client_id" (required "github.clientId is required with github.enabled" .Values.github.clientId) "timeout" .Values.github.timeout }}
{{- with .Values.github.authorizeUrl }}
{{- $_ := set $github "authorize_url" . }}
{{- end }}
{{- with .Values.github.tokenUrl }}
{{- $_ := set $github "token_url" . }}
{{- end }}
{{- with .Values.github.apiUrl }}
{{- $_ := set $github "api_url" . }}
{{- end }}
{{- $_ := set $config "github" $github }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* Where the configuration file is mounted, and its name. */}}
{{- define "gateway.configDir" -}}/etc/rsp-gateway{{- end }}
{{- define "gateway.configFile" -}}gateway.yaml{{- end }}

{{/* Where the Secret's redis-ca key is mounted (redis.caFromSecret). */}}
{{- define "gateway.redisCaDir" -}}/etc/rsp-gateway-redis{{- end }}
{{- define "gateway.redisCaFile" -}}{{ include "gateway.redisCaDir" . }}/ca.pem{{- end }}

{{/* Whether the pods mount Redis's CA from the Secret ("true" or empty). */}}
{{- define "gateway.redisCaMounted" -}}
{{- if and .Values.redis.enabled .Values.redis.caFromSecret }}true{{ end }}
{{- end }}

{{/* A variable read from a key of the gateway's Secret. */}}
{{- define "gateway.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}

{{/*
Environment of every gateway container: the configuration file, then each
secret by reference. URLs that embed a password are composed by Kubernetes
from the password variable ($(VAR) expansion), so no password is in values.
*/}}
{{- define "gateway.env" -}}
{{- $secret := required "secrets.name: name of the existing Secret of the gateway" .Values.secrets.name -}}
- name: RSP_GATEWAY_CONFIG_PATH
  value: {{ printf "%s/%s" (include "gateway.configDir" .) (include "gateway.configFile" .) }}
{{ include "gateway.secretEnv" (dict "name" "RSP_GATEWAY_SESSION_SECRET" "secret" $secret "key" "session-secret") }}
{{ include "gateway.secretEnv" (dict "name" "RSP_GATEWAY_TOKEN_HASH_KEY" "secret" $secret "key" "token-hash-key") }}
{{- $db := .Values.database }}
{{- if $db.urlFromSecret }}
{{ include "gateway.secretEnv" (dict "name" "RSP_GATEWAY_DATABASE_URL" "secret" $secret "key" "database-url") }}
{{- else }}
{{ include "gateway.secretEnv" (dict "name" "DATABASE_PASSWORD" "secret" $secret "key" "database-password") }}
- name: RSP_GATEWAY_DATABASE_URL
  value: {{ printf "postgresql+asyncpg://%s:$(DATABASE_PASSWORD)@%s:%d/%s" $db.user (required "database.host is required" $db.host) (int $db.port) $db.name | quote }}
{{- end }}
{{- $redis := .Values.redis }}
{{- if $redis.enabled }}
{{- if $redis.auth }}
{{ include "gateway.secretEnv" (dict "name" "REDIS_PASSWORD" "secret" $secret "key" "redis-password") }}
{{- end }}
- name: RSP_GATEWAY_REDIS_URL
  value: {{ printf "%s://%s%s:%d/%d" (ternary "rediss" "redis" $redis.tls) (ternary ":$(REDIS_PASSWORD)@" "" $redis.auth) (required "redis.host is required with redis.enabled" $redis.host) (int $redis.port) (int $redis.db) | quote }}
{{- end }}
{{- if .Values.github.enabled }}
{{ include "gateway.secretEnv" (dict "name" "RSP_GATEWAY_GITHUB__CLIENT_SECRET" "secret" $secret "key" "github-client-secret") }}
{{- end }}
{{- if .Values.secrets.bootstrapToken }}
{{ include "gateway.secretEnv" (dict "name" "RSP_GATEWAY_BOOTSTRAP_TOKEN" "secret" $secret "key" "bootstrap-token") }}
{{- end }}
{{- end }}

{{/* Pod-level security: a non-root user, RuntimeDefault seccomp. */}}
{{- define "gateway.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security: nothing to escalate to, nothing to write. */}}
{{- define "gateway.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
{{- end }}

{{/*
Volumes of every gateway pod: the configuration, a writable /tmp and, with
redis.caFromSecret, Redis's CA from the Secret's redis-ca key (every pod
loads the same configuration, which names that file).
*/}}
{{- define "gateway.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.tmpSize }}
{{- if include "gateway.redisCaMounted" .root }}
- name: redis-ca
  secret:
    secretName: {{ .root.Values.secrets.name }}
    items:
      - key: redis-ca
        path: {{ base (include "gateway.redisCaFile" .root) }}
{{- end }}
{{- end }}

{{- define "gateway.volumeMounts" -}}
- name: config
  mountPath: {{ include "gateway.configDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if include "gateway.redisCaMounted" . }}
- name: redis-ca
  mountPath: {{ include "gateway.redisCaDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* Scheduling settings shared by all pods. */}}
{{- define "gateway.scheduling" -}}
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
