{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "twilio-billing-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "twilio-billing-exporter.fullname" -}}
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

{{/* Common labels. */}}
{{- define "twilio-billing-exporter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "twilio-billing-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels. */}}
{{- define "twilio-billing-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "twilio-billing-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Service account name. */}}
{{- define "twilio-billing-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "twilio-billing-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the OAuth client credentials. */}}
{{- define "twilio-billing-exporter.secretName" -}}
{{- default (include "twilio-billing-exporter.fullname" .) .Values.twilio.existingSecret }}
{{- end }}

{{/* Where the client secret is mounted. */}}
{{- define "twilio-billing-exporter.secretDir" -}}
/etc/twilio_billing_exporter/secret
{{- end }}

{{/* Where the Secret of webConfig.existingSecret is mounted. */}}
{{- define "twilio-billing-exporter.webConfigDir" -}}
/etc/twilio_billing_exporter/web
{{- end }}

{{/* Key of the client ID in the Secret, or empty when the config carries it. */}}
{{- define "twilio-billing-exporter.clientIdKey" -}}
{{- if .Values.twilio.clientIdKey }}
{{- .Values.twilio.clientIdKey }}
{{- else if and (not .Values.twilio.existingSecret) .Values.twilio.clientId (not .Values.config.twilio.client_id) }}
{{- "client-id" }}
{{- end }}
{{- end }}

{{/* The exporter's config file: config from values, with client_secret_file
pointing at the mounted Secret. */}}
{{- define "twilio-billing-exporter.config" -}}
{{- $cfg := deepCopy .Values.config }}
{{- $twilio := default dict $cfg.twilio }}
{{- if or (hasKey $twilio "client_secret") (hasKey $twilio "client_secret_file") }}
{{- fail "config.twilio.client_secret and client_secret_file are set by the chart: put the secret in twilio.clientSecret or twilio.existingSecret" }}
{{- end }}
{{- if not $twilio.api_url }}
{{- fail "config.twilio.api_url is required (or set demo: true)" }}
{{- end }}
{{- if not $cfg.billing_groups }}
{{- fail "config.billing_groups needs at least one billing group (or set demo: true)" }}
{{- end }}
{{- if not $twilio.client_id }}
{{- $_ := unset $twilio "client_id" }}
{{- if not (include "twilio-billing-exporter.clientIdKey" .) }}
{{- fail "set config.twilio.client_id, twilio.clientId, or twilio.clientIdKey (the key of the client ID in twilio.existingSecret)" }}
{{- end }}
{{- end }}
{{- $_ := set $twilio "client_secret_file" (printf "%s/%s" (include "twilio-billing-exporter.secretDir" .) .Values.twilio.clientSecretKey) }}
{{- $_ := set $cfg "twilio" $twilio }}
{{- toYaml $cfg }}
{{- end }}

{{/*
GOMEMLIMIT in bytes: goMemLimitPercent of resources.limits.memory, or ""
without a memory limit. The Go runtime limits only the heap it manages;
goroutine stacks, the binary and the kernel's buffers count against the
container's limit too, so a GOMEMLIMIT of the whole limit lets the pod be
OOM-killed before the garbage collector reacts.
*/}}
{{- define "twilio-billing-exporter.goMemLimit" -}}
{{- $limit := dig "limits" "memory" "" .Values.resources -}}
{{- if $limit -}}
{{- $q := kindIs "float64" $limit | ternary (int64 $limit | toString) (toString $limit) -}}
{{- $pct := int .Values.goMemLimitPercent -}}
{{- if or (lt $pct 50) (gt $pct 100) -}}
{{- fail (printf "goMemLimitPercent %v: want a whole percentage of resources.limits.memory from 50 to 100 (85 leaves room for what the Go runtime does not manage)" .Values.goMemLimitPercent) -}}
{{- end -}}
{{- $units := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 -}}
{{- if not (regexMatch "^[0-9]+(k|M|G|T|Ki|Mi|Gi|Ti)?$" $q) -}}
{{- fail (printf "resources.limits.memory %q: want a whole number of bytes, optionally with k, M, G, T, Ki, Mi, Gi or Ti (such as 128Mi), from which GOMEMLIMIT is set" $q) -}}
{{- end -}}
{{- $n := regexFind "^[0-9]+" $q -}}
{{- $unit := trimPrefix $n $q -}}
{{- div (mul (int64 $n) (get $units $unit) $pct) 100 -}}
{{- end -}}
{{- end }}

{{/*
The metrics path: telemetryPath, which the exporter's flag and the
ServiceMonitor both follow. Set in extraArgs too, the two could disagree.
*/}}
{{- define "twilio-billing-exporter.telemetryPath" -}}
{{- range .Values.extraArgs }}
{{- if hasPrefix "--web.telemetry-path" (toString .) }}
{{- fail "extraArgs sets --web.telemetry-path: set telemetryPath instead, which the ServiceMonitor's path follows" }}
{{- end }}
{{- end }}
{{- $p := required "telemetryPath is required (the metrics path, e.g. /metrics)" .Values.telemetryPath | toString }}
{{- if not (regexMatch "^/[A-Za-z0-9/._~-]*$" $p) }}
{{- fail (printf "telemetryPath %q: want a path starting with / made of letters, digits and / - . _ ~" $p) }}
{{- end }}
{{- $p }}
{{- end }}
