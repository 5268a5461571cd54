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
{{- define "platform.pythonStartupDir" -}}/opt/airflow/python-startup{{- end -}}
{{- define "platform.podTemplatePath" -}}/opt/airflow/pod_templates/pod_template.yaml{{- end -}}

{{/* airflow.cfg: the chart's settings merged with .Values.airflow.config (the user's win). */}}
{{- define "platform.airflowCfg" -}}
{{- $defaults := dict
  "core" (dict
    "executor" "KubernetesExecutor"
    "dags_folder" (include "platform.dagsFolder" .)
    "load_examples" "False"
    "parallelism" (toString .Values.airflow.concurrency.parallelism)
    "execution_api_server_url" (printf "http://%s:%v%s/execution/" (include "platform.airflowApiServerName" .) .Values.airflow.apiServer.service.port (include "platform.apiBasePath" .)))
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
{{- $_ := mergeOverwrite $defaults.core (include "platform.authManagerConfig" . | fromJson) -}}
{{- with include "platform.fabConfig" . | fromJson }}{{ $_ := set $defaults "fab" . }}{{ end -}}
{{- with include "platform.dagBundleConfig" . | fromJson }}{{ $_ := set $defaults "dag_processor" . }}{{ end -}}
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

{{/* [core] auth_manager and its settings. */}}
{{- define "platform.authManagerConfig" -}}
{{- if eq .Values.airflow.authManager "fab" -}}
{{- toJson (dict "auth_manager" "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager") -}}
{{- else -}}
{{- if .Values.airflow.fab.users -}}
{{- fail "airflow.fab.users needs airflow.authManager fab: SimpleAuthManager knows only airflow.admin" -}}
{{- end -}}
{{- toJson (dict
  "auth_manager" "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
  "simple_auth_manager_users" (printf "%s:%s" .Values.airflow.admin.username .Values.airflow.admin.role)
  "simple_auth_manager_passwords_file" (printf "%s/passwords.json" (include "platform.authDir" .))) -}}
{{- end -}}
{{- end -}}

{{/* [fab]: where webserver_config.py is mounted, and the custom roles. Empty without FAB. */}}
{{- define "platform.fabConfig" -}}
{{- $fab := dict -}}
{{- if eq .Values.airflow.authManager "fab" -}}
{{- $_ := set $fab "config_file" (include "platform.fabConfigPath" .) -}}
{{- /* the migration Job alone syncs FAB's roles and permissions (AIRFLOW__FAB__UPDATE_FAB_PERMS in its env): api-server
replicas that all did at start would race on the same rows */ -}}
{{- $_ := set $fab "update_fab_perms" "False" -}}
{{- with .Values.airflow.fab.roles }}{{ $_ := set $fab "custom_roles" (toJson .) }}{{ end -}}
{{- end -}}
{{- toJson $fab -}}
{{- end -}}

{{- define "platform.fabConfigPath" -}}/opt/airflow/webserver_config.py{{- end -}}

{{/* FAB's name of a role: the chart's lower-case built-in names (shared with
SimpleAuthManager) map to FAB's; any other name is a custom role, kept as written. */}}
{{- define "platform.fabRole" -}}
{{- $builtin := dict "admin" "Admin" "op" "Op" "user" "User" "viewer" "Viewer" "public" "Public" -}}
{{- index $builtin . | default . -}}
{{- end -}}

{{/* The users the migration Job creates or updates (chart/files/sync-fab-users.py), as
JSON: the admin, then airflow.fab.users; each password is a file of the fab-passwords
volume. */}}
{{- define "platform.fabUsers" -}}
{{- $a := .Values.airflow.admin -}}
{{- $users := list (dict "username" $a.username "role" (include "platform.fabRole" $a.role) "email" $a.email "firstName" $a.firstName "lastName" $a.lastName "passwordFile" (printf "%s/0" (include "platform.fabPasswordsDir" .))) -}}
{{- range $i, $u := .Values.airflow.fab.users -}}
{{- $users = append $users (dict "username" $u.username "role" (include "platform.fabRole" $u.role) "email" $u.email "firstName" ($u.firstName | default $u.username) "lastName" ($u.lastName | default "-") "passwordFile" (printf "%s/%d" (include "platform.fabPasswordsDir" $) (add1 $i))) -}}
{{- end -}}
{{- toJson $users -}}
{{- end -}}

{{- define "platform.fabPasswordsDir" -}}/opt/airflow/fab-passwords{{- end -}}

{{/* The Secrets of those passwords as one projected volume, file N for user N. */}}
{{- define "platform.fabPasswordsVolume" -}}
- name: fab-passwords
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ include "platform.adminSecretName" . }}
          items:
            - {key: {{ include "platform.adminPasswordKey" . }}, path: "0"}
      {{- range $i, $u := .Values.airflow.fab.users }}
      - secret:
          name: {{ $u.existingSecret }}
          items:
            - {key: {{ $u.passwordKey | default "password" }}, path: {{ add1 $i | quote }}}
      {{- end }}
{{- end -}}

{{/* webserver_config.py: the user's ConfigMap, else the chart's. */}}
{{- define "platform.fabConfigMapName" -}}
{{- .Values.airflow.apiServer.apiServerConfigConfigMapName | default (printf "%s-api-server-config" (include "platform.fullname" .)) -}}
{{- end -}}

{{- define "platform.fabConfigMount" -}}
- name: api-server-config
  mountPath: {{ include "platform.fabConfigPath" . }}
  subPath: webserver_config.py
  readOnly: true
{{- end -}}

{{- define "platform.fabConfigVolume" -}}
- name: api-server-config
  configMap:
    name: {{ include "platform.fabConfigMapName" . }}
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
{{- if .Values.airflow.freezeGcAtFork }}
- name: PYTHONPATH
  value: {{ include "platform.pythonStartupDir" . }}
{{- end }}
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
{{- if .Values.airflow.freezeGcAtFork }}
- name: config
  mountPath: {{ include "platform.pythonStartupDir" . }}/sitecustomize.py
  subPath: sitecustomize.py
  readOnly: true
{{- end }}
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

{{/* Init container of every long-running component: wait for the migration Job
(files/wait-for-migrations.py: `airflow db check-migrations` without importing Airflow). */}}
{{- define "platform.waitForMigrationsContainer" -}}
{{- include "platform.metadataInitContainer" (dict "root" . "name" "wait-for-migrations"
  "args" (list "python" "-c" (.Files.Get "files/wait-for-migrations.py"))
  "env" (list (dict "name" "FAB" "value" (ternary "true" "false" (eq .Values.airflow.authManager "fab")))
              (dict "name" "MIGRATION_WAIT_SECONDS" "value" (toString .Values.airflow.migrationWaitTimeout)))) -}}
{{- end -}}

{{/* An Airflow init container that reads the metadata database: airflow.cfg, the metadata
connection and the extra environment, read-only. Usage: include "platform.metadataInitContainer"
(dict "root" $ "name" NAME "args" LIST ["env" LIST of EnvVars put first]) */}}
{{- define "platform.metadataInitContainer" -}}
{{- $root := .root -}}
- name: {{ .name }}
  {{- include "platform.airflowImage" $root | nindent 2 }}
  args: {{ toJson .args }}
  env:
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- include "platform.airflowEnv" $root | nindent 4 }}
    {{- include "platform.metadataEnv" $root | nindent 4 }}
    {{- with $root.Values.airflow.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  resources:
    {{- toYaml $root.Values.airflow.initResources | nindent 4 }}
  securityContext:
    {{- include "platform.containerSecurityContext" (dict "readOnly" true) | nindent 4 }}
  volumeMounts:
    {{- include "platform.airflowBaseMounts" $root | nindent 4 }}
{{- end -}}

{{/* The api-server's wait for the migration Job's FAB users (files/wait-for-fab-users.py). */}}
{{- define "platform.waitForFabUsersContainer" -}}
{{- include "platform.metadataInitContainer" (dict "root" . "name" "wait-for-fab-users"
  "args" (list "python" "-c" (.Files.Get "files/wait-for-fab-users.py"))
  "env" (list (dict "name" "ADMIN_USERNAME" "value" .Values.airflow.admin.username)
              (dict "name" "WAIT_SECONDS" "value" (toString .Values.airflow.migrationWaitTimeout)))) -}}
{{- end -}}

{{/* Liveness of the dag-processor and the triggerer: their job's heartbeat, checked by
files/check-job-heartbeat.py (`airflow jobs check --local` without importing Airflow), or by
that command where [core] hostname_callable is set. Usage: include ... (dict "root" $ "jobType" "TriggererJob") */}}
{{- define "platform.jobLivenessProbe" -}}
{{- $config := .root.Values.airflow.config -}}
{{- $threshold := ternary (dig "triggerer" "triggerer_health_check_threshold" "30" $config) (dig "dag_processor" "health_check_threshold" "30" $config) (eq .jobType "TriggererJob") -}}
livenessProbe:
  exec:
    {{- if dig "core" "hostname_callable" "" $config }}
    command: ["bash", "-c", "airflow jobs check --job-type {{ .jobType }} --local"]
    {{- else }}
    command: ["python", "-c", {{ .root.Files.Get "files/check-job-heartbeat.py" | quote }}, {{ .jobType | quote }}, {{ toString $threshold | quote }}]
    {{- end }}
  initialDelaySeconds: 60
  periodSeconds: 60
  timeoutSeconds: 45
  failureThreshold: 5
{{- end -}}

