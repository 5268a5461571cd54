{{/*
What every Airflow container shares: airflow.cfg, the environment (secrets by reference
only), the base volumes and mounts, and the wait for the migration Job.
*/}}

{{/* The path of [api] base_url ("" at the root, "/airflow" for https://host/airflow/): the
api-server serves everything under it, so the probes, the workers' execution API URL and
the helm test call it there. */}}
{{- define "platform.apiBasePath" -}}
{{- $baseUrl := dig "api" "base_url" "" .Values.airflow.config -}}
{{- (urlParse $baseUrl).path | trimSuffix "/" -}}
{{- end -}}

{{- define "platform.authDir" -}}/opt/airflow/auth{{- end -}}
{{- define "platform.podTemplatePath" -}}/opt/airflow/pod_templates/pod_template.yaml{{- end -}}

{{/* airflow.cfg: the chart's settings merged with .Values.airflow.config (the user's win). */}}
{{- define "platform.airflowCfg" -}}
{{- $defaults := dict
  "core" (dict
    "executor" "KubernetesExecutor"
    "dags_folder" (include "platform.dagsFolder" .)
    "load_examples" "False"
    "parallelism" (toString .Values.airflow.concurrency.parallelism)
    "execution_api_server_url" (printf "http://%s:%v%s/execution/" (include "platform.airflowApiServerName" .) .Values.airflow.apiServer.service.port (include "platform.apiBasePath" .))
    "auth_manager" "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    "simple_auth_manager_users" (printf "%s:%s" .Values.airflow.admin.username .Values.airflow.admin.role)
    "simple_auth_manager_passwords_file" (printf "%s/passwords.json" (include "platform.authDir" .)))
  "logging" (include "platform.loggingConfig" . | fromJson)
  "metrics" (include "platform.metricsConfig" . | fromJson)
  "api" (dict
    "host" "0.0.0.0"
    "port" (toString .Values.airflow.apiServer.service.port)
    "workers" (toString .Values.airflow.apiServer.workers))
  "scheduler" (dict
    "enable_health_check" "True"
    "scheduler_health_check_server_port" "8974")
  "kubernetes_executor" (dict
    "namespace" .Release.Namespace
    "pod_template_file" (include "platform.podTemplatePath" .)
    "worker_container_repository" .Values.airflow.image.repository
    "worker_container_tag" (toString .Values.airflow.image.tag)
    "delete_worker_pods" (ternary "True" "False" .Values.airflow.workers.deleteWorkerPods)
    "delete_worker_pods_on_failure" (ternary "True" "False" .Values.airflow.workers.deleteWorkerPodsOnFailure)
    "worker_pods_creation_batch_size" (toString .Values.airflow.concurrency.podCreationBatchSize)
    "in_cluster" "True") -}}
{{- /* airflow.cfg is a ConfigMap: these keys come from Secrets, never from values */ -}}
{{- $secretKeys := dict "core" (list "fernet_key" "sql_alchemy_conn") "database" (list "sql_alchemy_conn" "sql_alchemy_conn_async") "api_auth" (list "jwt_secret") "api" (list "secret_key") -}}
{{- range $section, $keys := $secretKeys -}}
{{- $user := index $.Values.airflow.config $section | default dict -}}
{{- range $keys -}}
{{- if hasKey $user . -}}
{{- fail (printf "airflow.config.%s.%s is a secret and must not be in values (it would land in a ConfigMap); the chart sets it from a Secret" $section .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* no toYaml/fromYaml round trip here: it would turn strings like "y" or "off" into booleans */ -}}
{{- $config := mergeOverwrite $defaults (deepCopy .Values.airflow.config) -}}
{{- range $i, $section := keys $config | sortAlpha }}
{{- if $i }}{{ printf "\n" }}{{ end }}
[{{ $section }}]
{{- $items := index $config $section }}
{{- range $key := keys $items | sortAlpha }}
{{ $key }} = {{ index $items $key }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* [logging]: local files, and with airflow.logs.remote a copy in object storage that the
UI reads once the worker pod is gone. */}}
{{- define "platform.loggingConfig" -}}
{{- $remote := .Values.airflow.logs.remote -}}
{{- $logging := dict "base_log_folder" "/opt/airflow/logs" "remote_logging" "False" -}}
{{- if $remote.enabled -}}
{{- $_ := set $logging "remote_logging" "True" -}}
{{- $_ := set $logging "remote_base_log_folder" (required "airflow.logs.remote.baseLogFolder is required when airflow.logs.remote.enabled is true: s3://BUCKET/PATH, gs://BUCKET/PATH or wasb-CONTAINER" $remote.baseLogFolder) -}}
{{- $_ := set $logging "remote_log_conn_id" $remote.connectionId -}}
{{- $_ := set $logging "delete_local_logs" "True" -}}
{{- end -}}
{{- toJson $logging -}}
{{- end -}}

{{/* [metrics]: StatsD to the chart's exporter, which turns it into Prometheus metrics. */}}
{{- define "platform.metricsConfig" -}}
{{- if .Values.metrics.enabled -}}
{{- toJson (dict "statsd_on" "True" "statsd_host" (include "platform.statsdName" .) "statsd_port" "9125"
  "statsd_prefix" .Values.metrics.prefix) -}}
{{- else -}}
{{- toJson (dict "statsd_on" "False") -}}
{{- end -}}
{{- end -}}

{{- define "platform.airflowImage" -}}
image: {{ include "platform.image" .Values.airflow.image | quote }}
imagePullPolicy: {{ .Values.airflow.image.pullPolicy }}
{{- end -}}

{{/* The environment of every Airflow container: Airflow's keys from their Secret, and the
remote logging connection from its Secret. */}}
{{- define "platform.airflowEnv" -}}
- name: CONNECTION_CHECK_MAX_COUNT
  value: "0"
- name: AIRFLOW_HOME
  value: /opt/airflow
- name: AIRFLOW__CORE__FERNET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.airflowKeysSecretName" . }}
      key: fernet-key
- name: AIRFLOW__API_AUTH__JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.airflowKeysSecretName" . }}
      key: jwt-secret
- name: AIRFLOW__API__SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.airflowKeysSecretName" . }}
      key: api-secret-key
{{- with .Values.airflow.logs.remote }}
{{- if and .enabled .connectionSecret }}
- name: AIRFLOW_CONN_{{ upper (required "airflow.logs.remote.connectionId is required with airflow.logs.remote.connectionSecret: the Airflow connection the Secret holds" .connectionId) }}
  valueFrom:
    secretKeyRef:
      name: {{ .connectionSecret }}
      key: {{ .connectionSecretKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The metadata database's URL: every Airflow container but the workers (they go
through the execution API). */}}
{{- define "platform.metadataEnv" -}}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.metadataSecretName" . }}
      key: {{ include "platform.metadataSecretKey" . }}
{{- if and (not (include "platform.bundledMetadata" .)) .Values.airflow.externalDatabase.asyncConnectionKey }}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.metadataSecretName" . }}
      key: {{ .Values.airflow.externalDatabase.asyncConnectionKey }}
{{- end }}
{{- end -}}

{{/* Mounts every Airflow container has: airflow.cfg, /tmp, logs. */}}
{{- define "platform.airflowBaseMounts" -}}
- name: config
  mountPath: /opt/airflow/airflow.cfg
  subPath: airflow.cfg
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: logs
  mountPath: /opt/airflow/logs
{{- end -}}

{{- define "platform.airflowBaseVolumes" -}}
- name: config
  configMap:
    name: {{ include "platform.airflowConfigMapName" . }}
- name: tmp
  emptyDir: {}
- name: logs
{{- if .Values.airflow.logs.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "platform.logsClaimName" . }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}

{{/* Init container of every long-running component: wait for the migration Job. */}}
{{- define "platform.waitForMigrationsContainer" -}}
- name: wait-for-migrations
  {{- include "platform.airflowImage" . | nindent 2 }}
  args: ["bash", "-c", "exec airflow db check-migrations --migration-wait-timeout={{ .Values.airflow.migrationWaitTimeout }}"]
  env:
    {{- include "platform.airflowEnv" . | nindent 4 }}
    {{- include "platform.metadataEnv" . | nindent 4 }}
    {{- with .Values.airflow.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  resources:
    {{- toYaml .Values.airflow.initResources | nindent 4 }}
  securityContext:
    {{- include "platform.containerSecurityContext" (dict "readOnly" true) | nindent 4 }}
  volumeMounts:
    {{- include "platform.airflowBaseMounts" . | nindent 4 }}
{{- end -}}

{{/* Liveness of the dag-processor and the triggerer: their job's heartbeat. Usage: include ... "TriggererJob" */}}
{{- define "platform.jobLivenessProbe" -}}
livenessProbe:
  exec:
    command: ["bash", "-c", "airflow jobs check --job-type {{ . }} --local"]
  initialDelaySeconds: 60
  periodSeconds: 60
  timeoutSeconds: 45
  failureThreshold: 5
{{- end -}}

