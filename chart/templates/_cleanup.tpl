{{/* The pods Airflow makes for this release, which the uninstall hook and the cleanup
CronJob delete (chart/files/cleanup-pods.py): "namespace=selector" pairs. */}}
{{- define "platform.cleanupTargets" -}}
{{- printf "%s=app.kubernetes.io/instance=%s,app.kubernetes.io/component=worker %s=kubernetes_pod_operator=True,app.kubernetes.io/part-of=movielens-pipeline" .Release.Namespace .Release.Name (include "platform.taskNamespace" .) -}}
{{- end -}}

{{/* "true" when a Job of the chart deletes pods: the cleanup ServiceAccount and Roles exist. */}}
{{- define "platform.cleanupRbac" -}}
{{- if or .Values.uninstallCleanup.enabled .Values.airflow.cleanup.enabled }}true{{ end -}}
{{- end -}}
