{{/* Chart name, truncated to 63 characters (the DNS label limit). */}}
{{- define "scopegate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-scopegate, or the release name when it already contains the chart name. */}}
{{- define "scopegate.fullname" -}}
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

{{/* Names of the objects the operator reads or writes; the RBAC resourceNames use the same helpers. */}}
{{- define "scopegate.webhookServiceName" -}}{{ include "scopegate.fullname" . | trunc 55 | trimSuffix "-" }}-webhook{{- end }}
{{- define "scopegate.webhookTlsSecretName" -}}{{ include "scopegate.fullname" . | trunc 51 | trimSuffix "-" }}-webhook-tls{{- end }}
{{- define "scopegate.signingSecretName" -}}{{ include "scopegate.fullname" . | trunc 44 | trimSuffix "-" }}-config-signing-key{{- end }}
{{- define "scopegate.publicKeyConfigMapName" -}}{{ include "scopegate.fullname" . | trunc 44 | trimSuffix "-" }}-config-public-key{{- end }}
{{- define "scopegate.keysConfigMapName" -}}{{ include "scopegate.fullname" . | trunc 50 | trimSuffix "-" }}-jwks-cache{{- end }}
{{- define "scopegate.revisionConfigMapName" -}}{{ include "scopegate.fullname" . | trunc 46 | trimSuffix "-" }}-config-revision{{- end }}
{{- define "scopegate.leaseName" -}}{{ include "scopegate.fullname" . | trunc 54 | trimSuffix "-" }}-operator{{- end }}

{{- define "scopegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scopegate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name the existing ServiceAccount the operator runs as" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "scopegate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "scopegate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scopegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels of every object, without the component. */}}
{{- define "scopegate.commonLabels" -}}
helm.sh/chart: {{ include "scopegate.chart" . }}
app.kubernetes.io/name: {{ include "scopegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: scopegate
{{- end }}

{{- define "scopegate.labels" -}}
{{ include "scopegate.commonLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* <repository>@<digest>, or <repository>:<tag> with the appVersion as the default tag. */}}
{{- define "scopegate.image" -}}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository (default .appVersion .tag) }}
{{- end }}
{{- end }}

{{- define "scopegate.operatorImage" -}}
{{- include "scopegate.image" (dict "repository" .Values.image.repository "tag" .Values.image.tag "digest" .Values.image.digest "appVersion" .Chart.AppVersion) }}
{{- end }}

{{/* The operator's image unless sidecar.image says otherwise (then its own tag or digest, never the operator's). */}}
{{- define "scopegate.sidecarImage" -}}
{{- $sidecar := .Values.sidecar.image }}
{{- if or $sidecar.repository $sidecar.tag $sidecar.digest }}
{{- include "scopegate.image" (dict "repository" (default .Values.image.repository $sidecar.repository) "tag" $sidecar.tag "digest" $sidecar.digest "appVersion" .Chart.AppVersion) }}
{{- else }}
{{- include "scopegate.operatorImage" . }}
{{- end }}
{{- end }}

{{/* Namespaces the webhook never sees: kube-system, the release namespace and the configured ones. */}}
{{- define "scopegate.excludedNamespaces" -}}
{{- concat (list "kube-system" .Release.Namespace) .Values.webhook.excludedNamespaces | uniq | toJson }}
{{- end }}

{{/* The org ID as text: `--set tenant.orgId=1234567` and YAML give a number (a float, to Helm). */}}
{{- define "scopegate.orgId" -}}
{{- $orgId := .Values.tenant.orgId }}
{{- if kindIs "string" $orgId }}{{ $orgId }}{{ else }}{{ $orgId | int64 }}{{ end }}
{{- end }}

{{- define "scopegate.selfManagedCertificates" -}}
{{- if eq .Values.webhook.certificates.mode "self-managed" }}true{{ end }}
{{- end }}

{{/*
Checks the values cannot express in the schema, with messages that say what to set. Included by
every template that depends on them, so `helm template` fails before rendering anything half-valid.
*/}}
{{- define "scopegate.validate" -}}
{{- $_ := required "tenant.cloudName is required: the cloud name that starts every scope <cloudName>::<orgId>::<roleName> (e.g. --set tenant.cloudName=zscaler)" .Values.tenant.cloudName }}
{{- $_ = required "tenant.orgId is required: the organisation ID in every scope <cloudName>::<orgId>::<roleName> (e.g. --set tenant.orgId=1234567)" (include "scopegate.orgId" . | default "") }}
{{- if and (gt (int .Values.operator.replicaCount) 1) (not .Values.operator.leaderElection.enabled) }}
{{- fail "operator.replicaCount is above 1 but operator.leaderElection.enabled is false: two replicas would both sign and push config. Enable leader election or run one replica." }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (empty .Values.networkPolicy.namespaces) }}
{{- fail "networkPolicy.enabled is true but networkPolicy.namespaces is empty: list the namespaces of your protected apps." }}
{{- end }}
{{- if and .Values.webhook.certificates.certManager.issuerRef (not .Values.webhook.certificates.certManager.issuerRef.name) }}
{{- fail "webhook.certificates.certManager.issuerRef needs a name (and kind: Issuer or ClusterIssuer)." }}
{{- end }}
{{- end }}
