{{/* The pods Airflow makes for this release, which the uninstall hook and the cleanup
CronJob delete (chart/files/cleanup-pods.py): "namespace=selector" pairs. */}}
{{- define "platform.cleanupTargets" -}}
{{- printf "%s=app.kubernetes.io/instance=%s,app.kubernetes.io/component=worker %s=kubernetes_pod_operator=True,app.kubernetes.io/part-of=movielens-pipeline" .Release.Namespace .Release.Name (include "platform.taskNamespace" .) -}}
{{- end -}}

{{/* "true" when a Job of the chart deletes pods: the cleanup ServiceAccount and Roles exist. */}}
{{- define "platform.cleanupRbac" -}}
{{- if or .Values.uninstallCleanup.enabled .Values.airflow.cleanup.enabled }}true{{ end -}}
{{- end -}}

{{/* The pod of the uninstall hook and of the cleanup CronJob: chart/files/cleanup-pods.py with
its settings (CLEANUP_* variables besides the targets), placed like the scheduler.
Usage: include "platform.cleanupPod" (dict "root" $ "container" NAME "settings" (dict "CLEANUP_TIMEOUT" 120 ...)) */}}
{{- define "platform.cleanupPod" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "platform.labels" (dict "root" $root "component" "cleanup") | nindent 4 }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "platform.serviceAccountName" (dict "root" $root "component" "cleanup") }}
  automountServiceAccountToken: true
  securityContext:
    {{- include "platform.podSecurityContext" (dict "uid" $root.Values.airflow.uid "gid" $root.Values.airflow.gid) | nindent 4 }}
  {{- include "platform.jobScheduling" $root | nindent 2 }}
  containers:
    - name: {{ .container }}
      {{- include "platform.airflowImage" $root | nindent 6 }}
      args: ["python", "-c", {{ $root.Files.Get "files/cleanup-pods.py" | quote }}]
      env:
        - name: CLEANUP_TARGETS
          value: {{ include "platform.cleanupTargets" $root | quote }}
        {{- range $name, $value := .settings }}
        - name: {{ $name }}
          value: {{ $value | quote }}
        {{- end }}
      resources:
        {{- toYaml $root.Values.airflow.initResources | nindent 8 }}
      securityContext:
        {{- include "platform.containerSecurityContext" (dict "readOnly" true) | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir: {}
{{- end -}}
