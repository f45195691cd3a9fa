{{- define "dpready.fullname" -}}
{{- if contains "dpready" .Release.Name -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- else -}}{{ printf "%s-dpready" .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{- end -}}
{{- define "dpready.sa" -}}{{ include "dpready.fullname" . }}-controller{{- end -}}
{{- define "dpready.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "dpready.resultsNamespace" -}}{{ .Values.controller.resultsNamespace | default .Release.Namespace }}{{- end -}}
{{- define "dpready.webhookService" -}}{{ include "dpready.fullname" . }}-webhook{{- end -}}
{{- define "dpready.tokenSecret" -}}{{ .Values.statsApi.existingSecret | default (printf "%s-stats-token" (include "dpready.fullname" .)) }}{{- end -}}
{{- define "dpready.labels" -}}
app.kubernetes.io/name: dpready
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: dpready
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "dpready.selector" -}}
app.kubernetes.io/name: dpready
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}
