{{/*
replnode-operator.name is the chart name, or nameOverride.
*/}}
{{- define "replnode-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
replnode-operator.fullname is the prefix of every resource name: fullnameOverride,
or the release name when it already holds the chart name, else release-chart.
*/}}
{{- define "replnode-operator.fullname" -}}
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

{{/*
replnode-operator.labels are the common labels of every resource.
*/}}
{{- define "replnode-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "replnode-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: replnode
{{- end }}

{{/*
replnode-operator.selectorLabels select the operator pods; they never change
across upgrades (a Deployment's selector is immutable).
*/}}
{{- define "replnode-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "replnode-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
replnode-operator.serviceAccountName is the ServiceAccount the operator runs as.
*/}}
{{- define "replnode-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "replnode-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
replnode-operator.image is repository@digest, or repository:tag (tag defaults
to the appVersion).
*/}}
{{- define "replnode-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
replnode-operator.leaderElection is "true" when leader election is on:
leaderElection.enabled (the default), and always with more than one replica.
*/}}
{{- define "replnode-operator.leaderElection" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.leaderElection.enabled }}true{{- end }}
{{- end }}

{{/*
replnode-operator.watchNamespace is the one namespace the operator watches
with watch.scope "namespace" (default: the release namespace), or "" for all.
It fails with a clear message on contradictory values.
*/}}
{{- define "replnode-operator.watchNamespace" -}}
{{- if eq .Values.watch.scope "namespace" }}
{{- default .Release.Namespace .Values.watch.namespace }}
{{- else if .Values.watch.namespace }}
{{- fail (printf "watch.namespace=%q is only used with watch.scope=namespace (watch.scope is %q)" .Values.watch.namespace .Values.watch.scope) }}
{{- end }}
{{- end }}

{{/*
replnode-operator.rules are the operator's RBAC rules: those controller-gen
generated from the +kubebuilder:rbac markers (files/rbac/role.yaml), without
coordination.k8s.io leases, which only leader election uses and which get
their own Role in the release namespace (leader-election-rbac.yaml).
*/}}
{{- define "replnode-operator.rules" -}}
{{- $role := .Files.Get "files/rbac/role.yaml" | fromYaml }}
{{- if not $role.rules }}
{{- fail "files/rbac/role.yaml holds no rules; run 'make manifests chart-sync'" }}
{{- end }}
{{- $rules := list }}
{{- range $role.rules }}
{{- if not (has "coordination.k8s.io" .apiGroups) }}
{{- $rules = append $rules . }}
{{- end }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{/*
replnode-operator.leaseRules are the generated rules for coordination.k8s.io
leases (the leader-election lock).
*/}}
{{- define "replnode-operator.leaseRules" -}}
{{- $role := .Files.Get "files/rbac/role.yaml" | fromYaml }}
{{- $rules := list }}
{{- range $role.rules }}
{{- if has "coordination.k8s.io" .apiGroups }}
{{- $rules = append $rules . }}
{{- end }}
{{- end }}
{{- if not $rules }}
{{- fail "files/rbac/role.yaml has no coordination.k8s.io leases rule, which leader election needs; add the +kubebuilder:rbac marker" }}
{{- end }}
{{- toYaml $rules }}
{{- end }}
