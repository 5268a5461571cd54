{{/* Labels: app.kubernetes.io/* on every object; the selector subset on pods and Services. */}}

{{/* Usage: include "platform.labels" (dict "root" $ "component" "scheduler") */}}
{{- define "platform.labels" -}}
{{ include "platform.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: movielens-platform
helm.sh/chart: {{ include "platform.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "platform.selectorLabels" -}}
app.kubernetes.io/name: {{ include "platform.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Generated credentials and data claims outlive `helm uninstall`: a reinstall of the
same release then opens the kept data with the kept passwords. */}}
{{- define "platform.keepOnUninstall" -}}
helm.sh/resource-policy: keep
{{- end -}}
