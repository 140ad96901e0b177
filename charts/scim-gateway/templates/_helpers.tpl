{{/*
Names.
*/}}
{{- define "scim-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scim-gateway.fullname" -}}
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

{{- define "scim-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The admin Service, also the helm test's target. */}}
{{- define "scim-gateway.adminServiceName" -}}
{{- printf "%s-admin" (include "scim-gateway.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scim-gateway.redisFullname" -}}
{{- printf "%s-redis" (include "scim-gateway.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scim-gateway.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "scim-gateway.fullname" .) }}
{{- end }}

{{- define "scim-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scim-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "scim-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Labels. Every object carries the common labels; selectors use name, instance and component (gateway
or redis), so the gateway's Services never select the bundled Redis.
*/}}
{{- define "scim-gateway.labels" -}}
helm.sh/chart: {{ include "scim-gateway.chart" . }}
app.kubernetes.io/name: {{ include "scim-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: scim-gateway
{{- end }}

{{- define "scim-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scim-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "scim-gateway.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "scim-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{/* Where the ConfigMap and the Secret are mounted (directories, never subPath: live reload). */}}
{{- define "scim-gateway.configDir" -}}/etc/scim-gateway/config{{- end }}
{{- define "scim-gateway.secretsDir" -}}/etc/scim-gateway/secrets{{- end }}

{{/* Where each tenant's Secrets are mounted: <dir>/<name>/token and <dir>/<name>/client-secret. */}}
{{- define "scim-gateway.tenantsDir" -}}/etc/scim-gateway/tenants{{- end }}

{{/* Whether the gateway has Redis: the bundled one, a URL, or Sentinel/Cluster addresses. */}}
{{- define "scim-gateway.hasRedis" -}}
{{- $r := dig "store" "redis" dict (.Values.config | default dict) }}
{{- if or .Values.bundledRedis.enabled (dig "url" "" $r) (dig "addrs" list $r) }}true{{ end }}
{{- end }}

{{- define "scim-gateway.authType" -}}
{{- dig "upstream" "auth" "type" "oauth2" (.Values.config | default dict) }}
{{- end }}

{{/*
The Secret's entries the gateway uses, as a YAML list of {key, value, from}: the SCIM tokens, then the
admin token, the portal credential of the auth type, the Redis password, the Redis Sentinel password
(one entry with the Redis password when both have the same key), the translation hash key. value is
empty with an existing Secret. The Secret template, the pod's secret volume and the rendered config
all come from this one list, so the three always agree.
*/}}
{{- define "scim-gateway.secretItems" -}}
{{- $s := .Values.secrets }}
{{- $items := list }}
{{- range $i, $t := $s.scimTokens }}
{{- $items = append $items (dict "key" ($t.key | default (printf "scim-token-%s" $t.name)) "value" ($t.value | default "") "from" (printf "secrets.scimTokens[%d].value" $i)) }}
{{- end }}
{{- if $s.adminToken.enabled }}
{{- $items = append $items (dict "key" $s.adminToken.key "value" ($s.adminToken.value | default "") "from" "secrets.adminToken.value") }}
{{- end }}
{{- $auth := include "scim-gateway.authType" . }}
{{- if eq $auth "oauth2" }}
{{- $items = append $items (dict "key" $s.upstreamClientSecret.key "value" ($s.upstreamClientSecret.value | default "") "from" "secrets.upstreamClientSecret.value") }}
{{- else if eq $auth "bearer" }}
{{- $items = append $items (dict "key" $s.upstreamToken.key "value" ($s.upstreamToken.value | default "") "from" "secrets.upstreamToken.value") }}
{{- end }}
{{- if $s.redisPassword.enabled }}
{{- $items = append $items (dict "key" $s.redisPassword.key "value" ($s.redisPassword.value | default "") "from" "secrets.redisPassword.value") }}
{{- end }}
{{- $sp := $s.redisSentinelPassword }}
{{- if $sp.enabled }}
{{- if and $s.redisPassword.enabled (eq $sp.key $s.redisPassword.key) }}
{{- if and (not $s.existingSecret) $sp.value (ne $sp.value ($s.redisPassword.value | default "")) }}
{{- fail (printf "secrets.redisSentinelPassword: the key %q is also secrets.redisPassword's, with another value; leave redisSentinelPassword.value empty to share the password, or give it a key of its own" $sp.key) }}
{{- end }}
{{- else }}
{{- $items = append $items (dict "key" $sp.key "value" ($sp.value | default "") "from" "secrets.redisSentinelPassword.value") }}
{{- end }}
{{- end }}
{{- if $s.translationHashKey.enabled }}
{{- $items = append $items (dict "key" $s.translationHashKey.key "value" ($s.translationHashKey.value | default "") "from" "secrets.translationHashKey.value") }}
{{- end }}
{{- $seen := dict }}
{{- range $items }}
{{- if hasKey $seen .key }}
{{- fail (printf "secrets: the key %q is used twice (give every SCIM token its own name or key)" .key) }}
{{- end }}
{{- $_ := set $seen .key true }}
{{- end }}
{{- toYaml $items }}
{{- end }}

{{/*
The gateway's config.yaml: .Values.config with the keys the chart owns set on top (listeners from
ports, every secret as a ...File path in the mounted Secret, the bundled Redis's URL, the public URL
from the Ingress host when none is given).
*/}}
{{- define "scim-gateway.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $dir := include "scim-gateway.secretsDir" . }}
{{- $s := .Values.secrets }}
{{- $tokens := list }}
{{- range $s.scimTokens }}
{{- $tokens = append $tokens (dict "name" .name "valueFile" (printf "%s/%s" $dir (.key | default (printf "scim-token-%s" .name)))) }}
{{- end }}
{{- $server := dict "listen" (printf ":%d" (int .Values.ports.scim)) "tokens" $tokens }}
{{- if and (not (dig "server" "publicURL" "" $cfg)) .Values.ingress.enabled .Values.ingress.host }}
{{- $_ := set $server "publicURL" (printf "https://%s" .Values.ingress.host) }}
{{- end }}
{{- if and .Values.ingress.enabled .Values.ingress.trustedProxies }}
{{- $_ := set $server "trustedProxies" (concat (dig "server" "trustedProxies" list $cfg) .Values.ingress.trustedProxies | uniq) }}
{{- end }}
{{- $admin := dict "listen" (printf ":%d" (int .Values.ports.admin)) }}
{{- if $s.adminToken.enabled }}
{{- $_ := set $admin "tokenFile" (printf "%s/%s" $dir $s.adminToken.key) }}
{{- end }}
{{- $redis := dict }}
{{- if .Values.bundledRedis.enabled }}
{{- $_ := set $redis "url" (printf "redis://%s:6379/0" (include "scim-gateway.redisFullname" .)) }}
{{- end }}
{{- if $s.redisPassword.enabled }}
{{- $_ := set $redis "passwordFile" (printf "%s/%s" $dir $s.redisPassword.key) }}
{{- end }}
{{- if $s.redisSentinelPassword.enabled }}
{{- $_ := set $redis "sentinelPasswordFile" (printf "%s/%s" $dir $s.redisSentinelPassword.key) }}
{{- end }}
{{- $auth := dict }}
{{- $authType := include "scim-gateway.authType" . }}
{{- if eq $authType "oauth2" }}
{{- $_ := set $auth "clientSecretFile" (printf "%s/%s" $dir $s.upstreamClientSecret.key) }}
{{- else if eq $authType "bearer" }}
{{- $_ := set $auth "tokenFile" (printf "%s/%s" $dir $s.upstreamToken.key) }}
{{- end }}
{{- $translation := dict }}
{{- if $s.translationHashKey.enabled }}
{{- $_ := set $translation "hashKeyFile" (printf "%s/%s" $dir $s.translationHashKey.key) }}
{{- end }}
{{- $managed := dict "server" $server "admin" $admin "store" (dict "redis" $redis) "upstream" (dict "auth" $auth) "logging" (dict "translation" $translation) }}
{{- $tenants := list }}
{{- range .Values.tenants }}
{{- $tdir := printf "%s/%s" (include "scim-gateway.tenantsDir" $) .name }}
{{- $t := deepCopy (.config | default dict) }}
{{- $_ := set $t "name" .name }}
{{- $_ := set $t "tokens" (list (dict "name" (printf "entra-%s" .name) "valueFile" (printf "%s/token/%s" $tdir .scimToken.key))) }}
{{- if .clientSecret }}
{{- $up := $t.upstream | default dict }}
{{- $_ := set $up "auth" (mustMergeOverwrite ($up.auth | default dict) (dict "clientSecretFile" (printf "%s/client-secret/%s" $tdir .clientSecret.key))) }}
{{- $_ := set $t "upstream" $up }}
{{- end }}
{{- $tenants = append $tenants $t }}
{{- end }}
{{- if $tenants }}
{{- $_ := set $managed "tenants" $tenants }}
{{- end }}
{{- toYaml (mustMergeOverwrite $cfg $managed) }}
{{- end }}

{{/*
A checksum of the configuration keys the gateway reads only when it starts (server timeouts, the
store, telemetry and upstream.globalLease; listeners are in the pod spec anyway). Everything else reloads live, so it is left out: a change
there must not restart the pods.
*/}}
{{- define "scim-gateway.restartChecksum" -}}
{{- $cfg := include "scim-gateway.config" . | fromYaml }}
{{- $server := pick ($cfg.server | default dict) "readHeaderTimeout" "readTimeout" "writeTimeout" "idleTimeout" }}
{{- $upstream := pick ($cfg.upstream | default dict) "globalLease" }}
{{- dict "server" $server "store" ($cfg.store | default dict) "telemetry" ($cfg.telemetry | default dict) "upstream" $upstream | toJson | sha256sum }}
{{- end }}

{{/*
The checks of values that depend on each other (values.schema.json checks each value on its own: its
refusals name the value's path). Rendered by the Deployment; every problem found is listed in one
failure, each naming the value to set or change, so that `helm template` of incomplete values says at
once everything that is missing.
*/}}
{{- define "scim-gateway.validate" -}}
{{- $cfg := .Values.config | default dict }}
{{- $redis := dig "store" "redis" dict $cfg }}
{{- $missing := list }}
{{- if not (dig "upstream" "baseURL" "" $cfg) }}
{{- $missing = append $missing "config.upstream.baseURL (the portal's absolute http(s) URL)" }}
{{- end }}
{{- if and (eq (include "scim-gateway.authType" .) "oauth2") (not (dig "upstream" "auth" "clientID" "" $cfg)) }}
{{- $missing = append $missing "config.upstream.auth.clientID (the portal's OAuth client; or config.upstream.auth.type bearer or none)" }}
{{- end }}
{{- $secretsMissing := false }}
{{- if not .Values.secrets.existingSecret }}
{{- range (include "scim-gateway.secretItems" . | fromYamlArray) }}
{{- if not .value }}
{{- $missing = append $missing .from }}
{{- $secretsMissing = true }}
{{- end }}
{{- end }}
{{- end }}
{{- $problems := list }}
{{- if $missing }}
{{- $problems = append $problems (printf "set %s%s" (join ", " $missing) (ternary " (or secrets.existingSecret: a Secret you manage that holds them)" "" $secretsMissing)) }}
{{- end }}
{{- if and (not (include "scim-gateway.hasRedis" .)) (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) }}
{{- $problems = append $problems (printf "%s needs Redis, since without it each replica has its own in-memory store: set config.store.redis.url (or mode and addrs) or bundledRedis.enabled=true, or set replicaCount=1%s" (ternary "autoscaling.enabled" (printf "replicaCount=%d" (int .Values.replicaCount)) .Values.autoscaling.enabled) (ternary " and autoscaling.enabled=false" "" .Values.autoscaling.enabled)) }}
{{- end }}
{{- if and .Values.bundledRedis.enabled (or (dig "url" "" $redis) (dig "addrs" list $redis)) }}
{{- $problems = append $problems "bundledRedis.enabled and an external Redis (config.store.redis.url or addrs) exclude each other: unset one" }}
{{- end }}
{{- if and (or .Values.secrets.redisSentinelPassword.enabled (dig "sentinelUsername" "" $redis)) (ne (dig "mode" "" $redis) "sentinel") }}
{{- $problems = append $problems "secrets.redisSentinelPassword and config.store.redis.sentinelUsername are for the sentinels: set config.store.redis.mode sentinel (with addrs and masterName), or turn them off" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}
{{- $problems = append $problems "autoscaling.maxReplicas is smaller than autoscaling.minReplicas" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- $problems = append $problems "ingress.host is required when ingress.enabled (the Tenant URL is https://<host>/scim/v2/)" }}
{{- end }}
{{- if .Values.networkPolicy.enabled }}
{{- $portal := .Values.networkPolicy.egress.portal }}
{{- if not (or $portal.cidrs $portal.to) }}
{{- $problems = append $problems "networkPolicy.egress.portal: set cidrs or to (where the portal is); egress is allowed only there" }}
{{- end }}
{{- $r := .Values.networkPolicy.egress.redis }}
{{- if and (include "scim-gateway.hasRedis" .) (not .Values.bundledRedis.enabled) (not (or $r.cidrs $r.to)) }}
{{- $problems = append $problems "networkPolicy.egress.redis: set cidrs or to (where the external Redis is); egress is allowed only there" }}
{{- end }}
{{- end }}
{{- if $problems }}
{{- fail (printf "%s. The smallest values file is in the chart's README (helm show readme)." (join "; " $problems)) }}
{{- end }}
{{- end }}
