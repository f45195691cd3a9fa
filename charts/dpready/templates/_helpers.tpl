{{- define "dpready.name" -}}{{ .Values.nameOverride | default .Chart.Name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{/* 40 characters at most: the longest suffix (-controller-own-annotations) must fit in 63. */}}
{{- define "dpready.fullname" -}}
{{- if .Values.fullnameOverride -}}{{ .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else -}}
{{- $name := include "dpready.name" . -}}
{{- if contains $name .Release.Name -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{- end -}}
{{- end -}}
{{/* The Deployment, its RBAC objects and its Lease: one name. */}}
{{- define "dpready.sa" -}}{{ include "dpready.fullname" . }}-controller{{- end -}}
{{/* The ServiceAccount the pods run as and the RBAC binds: the chart's own, or an existing one. */}}
{{- define "dpready.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ .Values.serviceAccount.name | default (include "dpready.sa" .) }}
{{- else -}}{{ required "serviceAccount.name: the name of an existing ServiceAccount is required when serviceAccount.create=false" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}
{{- define "dpready.image" -}}
{{- if .Values.image.digest -}}{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
{{- define "dpready.resultsNamespace" -}}{{ .Values.controller.resultsNamespace | default .Release.Namespace }}{{- end -}}
{{- define "dpready.webhookService" -}}{{ include "dpready.fullname" . }}-webhook{{- end -}}
{{- define "dpready.tokenSecret" -}}{{ .Values.statsApi.existingSecret | default (printf "%s-stats-token" (include "dpready.fullname" .)) }}{{- end -}}
{{- define "dpready.labels" -}}
app.kubernetes.io/name: {{ include "dpready.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: dpready
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "dpready.selector" -}}
app.kubernetes.io/name: {{ include "dpready.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}
{{- /* The stats API asks for a bearer token unless statsApi.generateToken is false and none is given. */ -}}
{{- define "dpready.statsTokenEnabled" -}}{{ if or .Values.statsApi.token .Values.statsApi.existingSecret .Values.statsApi.generateToken }}true{{ end }}{{- end -}}
