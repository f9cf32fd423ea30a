{{/*
replnode-group.name is the ReplicationGroup's name: nameOverride or the
release name. It fails when the name is too long for the operator's member
and Service names (the CRD allows at most 50 characters).
*/}}
{{- define "replnode-group.name" -}}
{{- $name := default .Release.Name .Values.nameOverride }}
{{- if gt (len $name) 50 }}
{{- fail (printf "the group name %q is %d characters; at most 50 are allowed (set nameOverride)" $name (len $name)) }}
{{- end }}
{{- $name }}
{{- end }}

{{/*
replnode-group.labels are the common labels of the chart's objects.
*/}}
{{- define "replnode-group.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: replnode
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: replnode
{{- end }}

{{/*
replnode-group.secretName is the auth Secret: auth.existingSecret or the
chart-created <name>-auth.
*/}}
{{- define "replnode-group.secretName" -}}
{{- default (printf "%s-auth" (include "replnode-group.name" .)) .Values.auth.existingSecret }}
{{- end }}

{{/*
replnode-group.configValue renders one redis.conf value as the string the
CRD wants: booleans as yes/no (redis.conf's spelling), whole numbers without
an exponent (Helm reads YAML numbers as floats), strings unchanged.
*/}}
{{- define "replnode-group.configValue" -}}
{{- if kindIs "bool" . }}{{ ternary "yes" "no" . }}
{{- else if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}{{ int64 . }}
{{- else }}{{ toString . }}
{{- end }}
{{- end }}
