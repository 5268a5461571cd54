{{/* Volumes of the data, logs and MySQL claims. Each takes a persistence block of values
(existingClaim, storageClassName, accessMode, size, hostPath, keepOnUninstall). */}}

{{/* The name of the hostPath PersistentVolume bound to a claim. Usage: dict "ns" NS "claim" NAME */}}
{{- define "platform.hostPathVolumeName" -}}
{{- printf "%s-%s" .ns .claim | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Spec of a hostPath PersistentVolume, bound in advance to its claim.
Usage: dict "p" PERSISTENCE "ns" NS "claim" NAME */}}
{{- define "platform.hostPathVolumeSpec" -}}
storageClassName: {{ default "manual" .p.storageClassName }}
capacity:
  storage: {{ .p.size }}
accessModes: [{{ .p.accessMode }}]
persistentVolumeReclaimPolicy: Retain
claimRef:
  namespace: {{ .ns }}
  name: {{ .claim }}
hostPath:
  path: {{ .p.hostPath }}
  type: DirectoryOrCreate
{{- end -}}

{{/* Spec of a PersistentVolumeClaim. Usage: dict "p" PERSISTENCE "ns" NS "claim" NAME */}}
{{- define "platform.claimSpec" -}}
accessModes: [{{ .p.accessMode }}]
{{- if .p.hostPath }}
storageClassName: {{ default "manual" .p.storageClassName }}
volumeName: {{ include "platform.hostPathVolumeName" . }}
{{- else if .p.storageClassName }}
storageClassName: {{ .p.storageClassName }}
{{- end }}
resources:
  requests:
    storage: {{ .p.size }}
{{- end -}}
