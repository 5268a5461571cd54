{{/*
Kubernetes 1.20 compatibility: the chart supports 1.20 (the offline test node) as well as
current clusters. Every branch on the cluster's version is here, so it can go in one
change once 1.20 is dropped.
*/}}

{{/* PodDisruptionBudget: policy/v1 from Kubernetes 1.21, policy/v1beta1 before. */}}
{{- define "platform.compat.pdbApiVersion" -}}
{{- if semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end -}}

{{/* CronJob: batch/v1 from Kubernetes 1.21, batch/v1beta1 before. */}}
{{- define "platform.compat.cronJobApiVersion" -}}
{{- if semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version -}}
batch/v1
{{- else -}}
batch/v1beta1
{{- end -}}
{{- end -}}

{{/* "true" where Pod Security admission exists (Kubernetes 1.23 and later). */}}
{{- define "platform.compat.podSecurityAdmission" -}}
{{- if semverCompare ">=1.23-0" .Capabilities.KubeVersion.Version }}true{{ end -}}
{{- end -}}
