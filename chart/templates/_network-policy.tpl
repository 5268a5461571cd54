{{/* Peers and egress rules shared by the NetworkPolicies (each policy is in its
component's folder; networkPolicies.enabled switches them all). */}}

{{/* The pods of one component of this release. Usage: dict "root" $ "component" "scheduler" */}}
{{- define "platform.np.podSelector" -}}
podSelector:
  matchLabels:
    app.kubernetes.io/instance: {{ .root.Release.Name }}
    app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The same pods as a peer of the task pods, which may run in another namespace.
Usage: dict "root" $ "component" "mysql" */}}
{{- define "platform.np.peerFromTasks" -}}
{{- include "platform.np.podSelector" . }}
{{- if ne (include "platform.taskNamespace" .root) .root.Release.Namespace }}
namespaceSelector:
  matchLabels:
    kubernetes.io/metadata.name: {{ .root.Release.Namespace }}
{{- end }}
{{- end -}}

{{/* The KubernetesPodOperator task pods, as a peer of the release's pods. */}}
{{- define "platform.np.taskPods" -}}
podSelector:
  matchLabels:
    kubernetes_pod_operator: "True"
{{- $taskNs := include "platform.taskNamespace" . }}
{{- if ne $taskNs .Release.Namespace }}
namespaceSelector:
  matchLabels:
    kubernetes.io/metadata.name: {{ $taskNs }}
{{- end }}
{{- end -}}

{{- define "platform.np.ipBlocks" -}}
{{- range . }}
- ipBlock:
    cidr: {{ . }}
{{- end }}
{{- end -}}

{{- define "platform.np.tcpPorts" -}}
{{- range . }}
- protocol: TCP
  port: {{ . }}
{{- end }}
{{- end -}}

{{/* ----------------------------------------------------------- egress rules */}}

{{/* StatsD to the metrics exporter: every Airflow component and the worker pods. */}}
{{- define "platform.np.egressStatsd" -}}
{{- if .Values.metrics.enabled }}
- to:
    - {{ include "platform.np.podSelector" (dict "root" . "component" "statsd") | nindent 6 | trim }}
  ports:
    - protocol: UDP
      port: 9125
{{- end }}
{{- end -}}

{{- define "platform.np.egressDns" -}}
- to:
    - namespaceSelector: {}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end -}}

{{- define "platform.np.egressKubeApi" -}}
{{- $np := .Values.networkPolicies -}}
- to: {{- if not $np.kubeApiCidrs }} []{{ end }}
    {{- include "platform.np.ipBlocks" $np.kubeApiCidrs | nindent 4 }}
  ports: {{- if not $np.kubeApiPorts }} []{{ end }}
    {{- include "platform.np.tcpPorts" $np.kubeApiPorts | nindent 4 }}
{{- end -}}

{{- define "platform.np.egressGit" -}}
{{- $np := .Values.networkPolicies -}}
- to: {{- if not $np.gitCidrs }} []{{ end }}
    {{- include "platform.np.ipBlocks" $np.gitCidrs | nindent 4 }}
  ports: {{- if not $np.gitPorts }} []{{ end }}
    {{- include "platform.np.tcpPorts" $np.gitPorts | nindent 4 }}
{{- end -}}

{{/* Airflow's metadata database: the bundled MySQL, or the external one on its own port. */}}
{{- define "platform.np.egressMetadataDb" -}}
{{- if include "platform.bundledMetadata" . }}
- to:
    - {{ include "platform.np.podSelector" (dict "root" . "component" "mysql") | nindent 6 | trim }}
  ports:
    - protocol: TCP
      port: {{ .Values.mysql.port }}
{{- else }}
{{- $cidrs := .Values.networkPolicies.metadataDatabaseCidrs }}
- to: {{- if not $cidrs }} []{{ end }}
    {{- include "platform.np.ipBlocks" $cidrs | nindent 4 }}
  ports:
    - protocol: TCP
      port: {{ .Values.airflow.externalDatabase.port }}
{{- end }}
{{- end -}}

{{/* The rankings database: the bundled MySQL, or the external one.
Usage: dict "root" $ "fromTasks" BOOL (true: as the task pods reach it) */}}
{{- define "platform.np.egressRankingsDb" -}}
{{- $root := .root -}}
{{- if $root.Values.mysql.enabled }}
- to:
    - {{ include (ternary "platform.np.peerFromTasks" "platform.np.podSelector" .fromTasks) (dict "root" $root "component" "mysql") | nindent 6 | trim }}
{{- else }}
{{- $cidrs := $root.Values.networkPolicies.pipelineDatabaseCidrs }}
- to: {{- if not $cidrs }} []{{ end }}
    {{- include "platform.np.ipBlocks" $cidrs | nindent 4 }}
{{- end }}
  ports:
    - protocol: TCP
      port: {{ include "platform.rankingsDbPort" $root }}
{{- end -}}

{{/* The MovieLens API. Usage: dict "root" $ "fromTasks" BOOL */}}
{{- define "platform.np.egressMovielensApi" -}}
- to:
    - {{ include (ternary "platform.np.peerFromTasks" "platform.np.podSelector" .fromTasks) (dict "root" .root "component" "movielens-api") | nindent 6 | trim }}
  ports:
    - protocol: TCP
      port: 5000
{{- end -}}

{{/* Airflow's api-server (the execution API for the workers). */}}
{{- define "platform.np.egressApiServer" -}}
- to:
    - {{ include "platform.np.podSelector" (dict "root" . "component" "api-server") | nindent 6 | trim }}
  ports:
    - protocol: TCP
      port: {{ .Values.airflow.apiServer.service.port }}
{{- end -}}
