{{/* Fragments of pod specs shared by several workloads. */}}

{{/* Usage: include "platform.podSecurityContext" (dict "uid" 50000 "gid" 0 "fsGroup" 0) */}}
{{- define "platform.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .gid }}
{{- if hasKey . "fsGroup" }}
fsGroup: {{ .fsGroup }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Usage: include "platform.containerSecurityContext" (dict "readOnly" true ["uid" 65533]) */}}
{{- define "platform.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .readOnly }}
runAsNonRoot: true
{{- with .uid }}
runAsUser: {{ . }}
{{- end }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* A pod's ServiceAccount and whether its token is mounted.
Usage: include "platform.podServiceAccount" (dict "root" $ "component" "scheduler" "c" .Values.airflow.scheduler) */}}
{{- define "platform.podServiceAccount" -}}
serviceAccountName: {{ include "platform.serviceAccountName" . }}
automountServiceAccountToken: {{ .c.serviceAccount.automountServiceAccountToken }}
{{- end -}}

{{/* A pod's labels: the chart's (the schema keeps app.kubernetes.io/* and helm.sh/* to the
chart) and the component's `labels`. Usage: dict "root" $ "component" "scheduler" "c" .Values.airflow.scheduler */}}
{{- define "platform.podLabels" -}}
{{ include "platform.labels" . }}
{{- with .c.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Where and how a pod runs, and the pull secrets. Usage: dict "root" $ "c" .Values.airflow.scheduler */}}
{{- define "platform.scheduling" -}}
{{- with .c.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if not (kindIs "invalid" .c.terminationGracePeriodSeconds) }}
terminationGracePeriodSeconds: {{ .c.terminationGracePeriodSeconds }}
{{- end }}
{{- with .c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- include "platform.imagePullSecrets" .root }}
{{- end -}}

{{/* The chart's own Jobs (the uninstall hook, the CronJobs, the Secret generator) run where
the scheduler may: its nodeSelector, tolerations and affinity. Usage: include "platform.jobScheduling" $ */}}
{{- define "platform.jobScheduling" -}}
{{- include "platform.scheduling" (dict "root" . "c" (pick .Values.airflow.scheduler "nodeSelector" "tolerations" "affinity")) -}}
{{- end -}}

{{- define "platform.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

