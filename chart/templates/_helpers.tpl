{{/* ------------------------------------------------------------------ names */}}

{{- define "platform.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "platform.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "platform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The namespace of the task pods. */}}
{{- define "platform.taskNamespace" -}}
{{- default .Release.Namespace .Values.pipeline.namespace -}}
{{- end -}}

{{/* Namespaces that need the pipeline's Secrets: the release's and the task namespace. */}}
{{- define "platform.secretNamespaces" -}}
{{- $ns := list .Release.Namespace -}}
{{- $task := include "platform.taskNamespace" . -}}
{{- if ne $task .Release.Namespace }}{{ $ns = append $ns $task }}{{ end -}}
{{- join "," $ns -}}
{{- end -}}

{{/* A Service address as seen from the task namespace. */}}
{{- define "platform.serviceHost" -}}
{{- $root := .root -}}
{{- if eq (include "platform.taskNamespace" $root) $root.Release.Namespace -}}
{{- .name -}}
{{- else -}}
{{- printf "%s.%s" .name $root.Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* ----------------------------------------------------------------- labels */}}

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

{{/* --------------------------------------------------------- object names */}}

{{- define "platform.airflowSecretName" -}}{{ include "platform.fullname" . }}-airflow{{- end -}}
{{- define "platform.apiServerName" -}}{{ include "platform.fullname" . }}-api-server{{- end -}}
{{- define "platform.mysqlName" -}}{{ include "platform.fullname" . }}-mysql{{- end -}}
{{- define "platform.movielensApiName" -}}{{ include "platform.fullname" . }}-movielens-api{{- end -}}
{{- define "platform.configMapName" -}}{{ include "platform.fullname" . }}-config{{- end -}}
{{- define "platform.podTemplateName" -}}{{ include "platform.fullname" . }}-pod-template{{- end -}}
{{- define "platform.workerServiceAccount" -}}{{ include "platform.fullname" . }}-worker{{- end -}}

{{- define "platform.fernetSecret" -}}
{{- default (include "platform.airflowSecretName" .) .Values.airflow.secrets.existingSecret -}}
{{- end -}}

{{- define "platform.adminSecret" -}}
{{- default (include "platform.airflowSecretName" .) .Values.airflow.admin.existingSecret -}}
{{- end -}}

{{- define "platform.adminPasswordKey" -}}
{{- if .Values.airflow.admin.existingSecret }}password{{ else }}admin-password{{ end -}}
{{- end -}}

{{/* "true" when Airflow's metadata lives in the bundled MySQL, "" when it is external. */}}
{{- define "platform.bundledMetadata" -}}
{{- if .Values.airflow.externalDatabase.enabled -}}
{{- else if .Values.mysql.enabled -}}true
{{- else -}}
{{- fail "Airflow's metadata needs a database: set airflow.externalDatabase.enabled=true with airflow.externalDatabase.existingSecret (PostgreSQL 14-18 or MySQL 8), or keep mysql.enabled=true" -}}
{{- end -}}
{{- end -}}

{{- define "platform.metadataSecret" -}}
{{- if include "platform.bundledMetadata" . -}}
{{ include "platform.fullname" . }}-metadata
{{- else -}}
{{ required "airflow.externalDatabase.existingSecret is required when airflow.externalDatabase.enabled is true: a Secret with the SQLAlchemy URL under connectionKey" .Values.airflow.externalDatabase.existingSecret }}
{{- end -}}
{{- end -}}

{{- define "platform.metadataKey" -}}
{{- if include "platform.bundledMetadata" . }}connection{{ else }}{{ .Values.airflow.externalDatabase.connectionKey }}{{ end -}}
{{- end -}}

{{/* Generated credentials and data claims outlive `helm uninstall`: a reinstall of the
same release then opens the kept data with the kept passwords. */}}
{{- define "platform.keepOnUninstall" -}}
helm.sh/resource-policy: keep
{{- end -}}

{{- define "platform.apiSecret" -}}
{{- default (printf "%s-movielens-api" (include "platform.fullname" .)) .Values.movielensApi.existingSecret -}}
{{- end -}}

{{- define "platform.dbSecret" -}}
{{- default (printf "%s-movielens-db" (include "platform.fullname" .)) .Values.pipeline.database.existingSecret -}}
{{- end -}}

{{- define "platform.dataClaim" -}}
{{- default (printf "%s-data" (include "platform.fullname" .)) .Values.pipeline.data.existingClaim -}}
{{- end -}}

{{- define "platform.logsClaim" -}}
{{- default (printf "%s-logs" (include "platform.fullname" .)) .Values.airflow.logs.persistence.existingClaim -}}
{{- end -}}

{{- define "platform.image" -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}

{{/* -------------------------------------------------------------- database */}}

{{- define "platform.dbHost" -}}
{{- if .Values.mysql.enabled -}}
{{ include "platform.serviceHost" (dict "root" . "name" (include "platform.mysqlName" .)) }}
{{- else -}}
{{ required "pipeline.database.host is required when mysql.enabled is false" .Values.pipeline.database.host }}
{{- end -}}
{{- end -}}

{{- define "platform.dbPort" -}}
{{- if .Values.mysql.enabled }}{{ .Values.mysql.port }}{{ else }}{{ .Values.pipeline.database.port }}{{ end -}}
{{- end -}}

{{/* ------------------------------------------------------------------ DAGs */}}

{{- define "platform.gitSyncRoot" -}}/opt/airflow/git{{- end -}}

{{/* The folder Airflow reads: git-sync's root/link[/subPath], or the image's folder. */}}
{{- define "platform.dagsFolder" -}}
{{- if .Values.dags.gitSync.enabled -}}
{{- $base := printf "%s/repo" (include "platform.gitSyncRoot" .) -}}
{{- if .Values.dags.gitSync.subPath -}}
{{- printf "%s/%s" $base (trimAll "/" .Values.dags.gitSync.subPath) -}}
{{- else -}}
{{- $base -}}
{{- end -}}
{{- else -}}
{{- .Values.dags.imageFolder -}}
{{- end -}}
{{- end -}}

{{/* ---------------------------------------------------------- Airflow config */}}

{{- define "platform.executionApiUrl" -}}
{{- printf "http://%s:%v/execution/" (include "platform.apiServerName" .) .Values.airflow.apiServer.service.port -}}
{{- end -}}

{{- define "platform.authDir" -}}/opt/airflow/auth{{- end -}}
{{- define "platform.podTemplatePath" -}}/opt/airflow/pod_templates/pod_template.yaml{{- end -}}

{{/* airflow.cfg text: the computed configuration merged with .Values.airflow.config (user wins). */}}
{{- define "platform.airflowCfg" -}}
{{- $defaults := dict
  "core" (dict
    "executor" "KubernetesExecutor"
    "dags_folder" (include "platform.dagsFolder" .)
    "load_examples" "False"
    "execution_api_server_url" (include "platform.executionApiUrl" .)
    "auth_manager" "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    "simple_auth_manager_users" (printf "%s:%s" .Values.airflow.admin.username .Values.airflow.admin.role)
    "simple_auth_manager_passwords_file" (printf "%s/passwords.json" (include "platform.authDir" .)))
  "logging" (dict
    "base_log_folder" "/opt/airflow/logs"
    "remote_logging" "False")
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
    "in_cluster" "True") -}}
{{- $forbidden := dict "core" (list "fernet_key" "sql_alchemy_conn") "database" (list "sql_alchemy_conn" "sql_alchemy_conn_async") "api_auth" (list "jwt_secret") "api" (list "secret_key") -}}
{{- range $section, $keys := $forbidden -}}
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

{{/* ------------------------------------------------------ security contexts */}}

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

{{/* Usage: include "platform.containerSecurityContext" (dict "readOnly" true) */}}
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

{{/* ----------------------------------------------------- Airflow containers */}}

{{/* Environment shared by every Airflow container (secrets by reference only). */}}
{{- define "platform.airflowSecretEnv" -}}
- name: AIRFLOW__CORE__FERNET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.fernetSecret" . }}
      key: fernet-key
- name: AIRFLOW__API_AUTH__JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.fernetSecret" . }}
      key: jwt-secret
- name: AIRFLOW__API__SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.fernetSecret" . }}
      key: api-secret-key
{{- end -}}

{{- define "platform.metadataEnv" -}}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.metadataSecret" . }}
      key: {{ include "platform.metadataKey" . }}
{{- if and (not (include "platform.bundledMetadata" .)) .Values.airflow.externalDatabase.asyncConnectionKey }}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC
  valueFrom:
    secretKeyRef:
      name: {{ include "platform.metadataSecret" . }}
      key: {{ .Values.airflow.externalDatabase.asyncConnectionKey }}
{{- end }}
{{- end -}}

{{/* The pipeline contract (MOVIELENS_*). */}}
{{- define "platform.pipelineEnv" -}}
{{- $p := .Values.pipeline -}}
- name: MOVIELENS_NAMESPACE
  value: {{ include "platform.taskNamespace" . | quote }}
- name: MOVIELENS_FETCH_IMAGE
  value: {{ include "platform.image" $p.images.fetch | quote }}
- name: MOVIELENS_RANK_IMAGE
  value: {{ include "platform.image" $p.images.rank | quote }}
- name: MOVIELENS_LOAD_IMAGE
  value: {{ include "platform.image" $p.images.load | quote }}
- name: MOVIELENS_IMAGE_PULL_POLICY
  value: {{ $p.imagePullPolicy | quote }}
- name: MOVIELENS_DATA_PVC
  value: {{ include "platform.dataClaim" . | quote }}
- name: MOVIELENS_API_URL
  value: {{ printf "http://%s" (include "platform.serviceHost" (dict "root" . "name" (include "platform.movielensApiName" .))) | quote }}
- name: MOVIELENS_API_SECRET
  value: {{ include "platform.apiSecret" . | quote }}
- name: MOVIELENS_DB_HOST
  value: {{ include "platform.dbHost" . | quote }}
- name: MOVIELENS_DB_PORT
  value: {{ include "platform.dbPort" . | quote }}
- name: MOVIELENS_DB_NAME
  value: {{ $p.database.name | quote }}
- name: MOVIELENS_DB_SECRET
  value: {{ include "platform.dbSecret" . | quote }}
{{- end -}}

{{/* Full env of an Airflow component. Usage: dict "root" $ "extra" list "metadata" bool "pipeline" bool */}}
{{- define "platform.airflowEnv" -}}
- name: CONNECTION_CHECK_MAX_COUNT
  value: "0"
- name: AIRFLOW_HOME
  value: /opt/airflow
{{ include "platform.airflowSecretEnv" .root }}
{{- if .metadata }}
{{ include "platform.metadataEnv" .root }}
{{- end }}
{{- if .pipeline }}
{{ include "platform.pipelineEnv" .root }}
{{- end }}
{{- with .root.Values.airflow.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "platform.airflowImage" -}}
image: {{ include "platform.image" .Values.airflow.image | quote }}
imagePullPolicy: {{ .Values.airflow.image.pullPolicy }}
{{- end -}}

{{/* Init container waiting for the migration Job. */}}
{{- define "platform.waitForMigrations" -}}
- name: wait-for-migrations
  {{- include "platform.airflowImage" . | nindent 2 }}
  args: ["bash", "-c", "exec airflow db check-migrations --migration-wait-timeout={{ .Values.airflow.migrationWaitTimeout }}"]
  env:
    {{- include "platform.airflowEnv" (dict "root" . "metadata" true) | nindent 4 }}
  resources:
    {{- toYaml .Values.airflow.initResources | nindent 4 }}
  securityContext:
    {{- include "platform.containerSecurityContext" (dict "readOnly" true) | nindent 4 }}
  volumeMounts:
    {{- include "platform.airflowBaseMounts" . | nindent 4 }}
{{- end -}}

{{/* Mounts every Airflow container has: config, /tmp, logs. */}}
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
    name: {{ include "platform.configMapName" . }}
- name: tmp
  emptyDir: {}
- name: logs
{{- if .Values.airflow.logs.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "platform.logsClaim" . }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}

{{/* Pod-level scheduling and common settings. Usage: dict "root" $ "c" .Values.airflow.scheduler */}}
{{- define "platform.scheduling" -}}
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
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* ------------------------------------------------------------- git-sync */}}

{{/* Usage: dict "root" $ "oneTime" bool */}}
{{- define "platform.gitSyncContainer" -}}
{{- $g := .root.Values.dags.gitSync -}}
- name: git-sync{{ if .oneTime }}-init{{ end }}
  image: {{ include "platform.image" $g.image | quote }}
  imagePullPolicy: {{ $g.image.pullPolicy }}
  env:
    - name: GITSYNC_REPO
      value: {{ $g.repo | quote }}
    - name: GITSYNC_REF
      value: {{ $g.ref | quote }}
    - name: GITSYNC_ROOT
      value: {{ include "platform.gitSyncRoot" .root | quote }}
    - name: GITSYNC_LINK
      value: repo
    - name: GITSYNC_PERIOD
      value: {{ $g.period | quote }}
    - name: GITSYNC_DEPTH
      value: {{ $g.depth | quote }}
    - name: GITSYNC_MAX_FAILURES
      value: {{ $g.maxFailures | quote }}
    - name: GITSYNC_ONE_TIME
      value: {{ ternary "true" "false" (.oneTime | default false) | quote }}
    - name: HOME
      value: /tmp
    {{- if $g.credentialsSecret }}
    - name: GITSYNC_USERNAME
      valueFrom:
        secretKeyRef:
          name: {{ $g.credentialsSecret }}
          key: {{ $g.usernameKey }}
    - name: GITSYNC_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ $g.credentialsSecret }}
          key: {{ $g.passwordKey }}
    {{- end }}
    {{- if $g.sshKeySecret }}
    - name: GITSYNC_SSH_KEY_FILE
      value: /etc/git-secret/ssh
    {{- if $g.knownHosts }}
    - name: GITSYNC_SSH_KNOWN_HOSTS
      value: "true"
    - name: GITSYNC_SSH_KNOWN_HOSTS_FILE
      value: /etc/git-known-hosts/known_hosts
    {{- else }}
    - name: GITSYNC_SSH_KNOWN_HOSTS
      value: "false"
    {{- end }}
    {{- end }}
  resources:
    {{- toYaml $g.resources | nindent 4 }}
  securityContext:
    {{- include "platform.containerSecurityContext" (dict "readOnly" true "uid" 65533) | nindent 4 }}
  volumeMounts:
    - name: dags
      mountPath: {{ include "platform.gitSyncRoot" .root }}
    - name: git-tmp
      mountPath: /tmp
    {{- if $g.sshKeySecret }}
    - name: git-ssh-key
      mountPath: /etc/git-secret/ssh
      subPath: ssh
      readOnly: true
    {{- if $g.knownHosts }}
    - name: git-known-hosts
      mountPath: /etc/git-known-hosts
      readOnly: true
    {{- end }}
    {{- end }}
{{- end -}}

{{- define "platform.gitSyncVolumes" -}}
{{- $g := .Values.dags.gitSync -}}
- name: dags
  emptyDir: {}
- name: git-tmp
  emptyDir: {}
{{- if $g.sshKeySecret }}
- name: git-ssh-key
  secret:
    secretName: {{ $g.sshKeySecret }}
    defaultMode: 0400
    items:
      - key: {{ $g.sshKeyKey }}
        path: ssh
{{- if $g.knownHosts }}
- name: git-known-hosts
  configMap:
    name: {{ include "platform.fullname" . }}-git-known-hosts
{{- end }}
{{- end }}
{{- end -}}

{{/* The DAG mount in Airflow containers that parse or run DAGs. */}}
{{- define "platform.dagsMount" -}}
{{- if .Values.dags.gitSync.enabled }}
- name: dags
  mountPath: {{ include "platform.gitSyncRoot" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* ------------------------------------------------------ secret generation */}}

{{/* Existing value of a Secret key (decoded), or a new random one.
Usage: include "platform.secretValue" (dict "ns" ns "name" name "key" key "length" 32) */}}
{{- define "platform.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .ns .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (.length | default 32) -}}
{{- end -}}
{{- end -}}

{{/* ------------------------------------------------ Airflow Deployment */}}

{{/* A Deployment of one Airflow component.
Usage: include "platform.airflowDeployment" (dict "root" $ "component" "scheduler" "c" VALUES
  "args" LIST "sa" NAME "automount" BOOL "ports" LIST "probes" YAML "initContainers" YAML
  "sidecars" YAML "mounts" YAML "volumes" YAML "pipeline" BOOL) */}}
{{- define "platform.airflowDeployment" -}}
{{- $root := .root -}}
{{- $name := printf "%s-%s" (include "platform.fullname" $root) .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "platform.labels" (dict "root" $root "component" .component) | nindent 4 }}
spec:
  replicas: {{ .c.replicas }}
  selector:
    matchLabels:
      {{- include "platform.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "platform.labels" (dict "root" $root "component" .component) | nindent 8 }}
      annotations:
        checksum/config: {{ include "platform.airflowCfg" $root | sha256sum }}
        {{- with .c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ .sa }}
      automountServiceAccountToken: {{ .automount }}
      securityContext:
        {{- include "platform.podSecurityContext" (dict "uid" $root.Values.airflow.uid "gid" $root.Values.airflow.gid "fsGroup" $root.Values.airflow.fsGroup) | nindent 8 }}
      {{- include "platform.scheduling" (dict "root" $root "c" .c) | nindent 6 }}
      initContainers:
        {{- include "platform.waitForMigrations" $root | nindent 8 }}
        {{- with .initContainers }}
        {{- . | nindent 8 }}
        {{- end }}
      containers:
        - name: {{ .component }}
          {{- include "platform.airflowImage" $root | nindent 10 }}
          args: {{ toJson .args }}
          env:
            {{- include "platform.airflowEnv" (dict "root" $root "metadata" true "pipeline" .pipeline "extra" .c.extraEnv) | nindent 12 }}
          {{- with .ports }}
          ports:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .probes }}
          {{- . | nindent 10 }}
          {{- end }}
          resources:
            {{- toYaml .c.resources | nindent 12 }}
          securityContext:
            {{- include "platform.containerSecurityContext" (dict "readOnly" true) | nindent 12 }}
          volumeMounts:
            {{- include "platform.airflowBaseMounts" $root | nindent 12 }}
            {{- with .mounts }}
            {{- . | nindent 12 }}
            {{- end }}
        {{- with .sidecars }}
        {{- . | nindent 8 }}
        {{- end }}
      volumes:
        {{- include "platform.airflowBaseVolumes" $root | nindent 8 }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/* Exec probe with `airflow jobs check`. */}}
{{- define "platform.jobCheckProbes" -}}
livenessProbe:
  exec:
    command: ["bash", "-c", "airflow jobs check --job-type {{ . }} --local"]
  initialDelaySeconds: 60
  periodSeconds: 60
  timeoutSeconds: 45
  failureThreshold: 5
{{- end -}}

{{/* PodDisruptionBudget: policy/v1 from Kubernetes 1.21, policy/v1beta1 before. */}}
{{- define "platform.pdb" -}}
{{- $root := .root -}}
{{- if semverCompare ">=1.21-0" $root.Capabilities.KubeVersion.Version }}
apiVersion: policy/v1
{{- else }}
apiVersion: policy/v1beta1
{{- end }}
kind: PodDisruptionBudget
metadata:
  name: {{ include "platform.fullname" $root }}-{{ .component }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "platform.labels" (dict "root" $root "component" .component) | nindent 4 }}
spec:
  maxUnavailable: {{ .maxUnavailable }}
  selector:
    matchLabels:
      {{- include "platform.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
{{- end -}}

{{/* A PVC, and optionally its hostPath PV bound to it.
Usage: dict "root" $ "name" CLAIM "ns" NS "component" C "p" PERSISTENCE */}}
{{- define "platform.claim" -}}
{{- $root := .root -}}
{{- $p := .p -}}
{{- if $p.hostPath }}
apiVersion: v1
kind: PersistentVolume
metadata:
  name: {{ printf "%s-%s" .ns .name | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "platform.labels" (dict "root" $root "component" .component) | nindent 4 }}
  {{- if $p.keepOnUninstall }}
  annotations:
    {{- include "platform.keepOnUninstall" . | nindent 4 }}
  {{- end }}
spec:
  storageClassName: {{ default "manual" $p.storageClassName }}
  capacity:
    storage: {{ $p.size }}
  accessModes: [{{ $p.accessMode }}]
  persistentVolumeReclaimPolicy: Retain
  claimRef:
    namespace: {{ .ns }}
    name: {{ .name }}
  hostPath:
    path: {{ $p.hostPath }}
    type: DirectoryOrCreate
---
{{- end }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .name }}
  namespace: {{ .ns }}
  labels:
    {{- include "platform.labels" (dict "root" $root "component" .component) | nindent 4 }}
  {{- if $p.keepOnUninstall }}
  annotations:
    {{- include "platform.keepOnUninstall" . | nindent 4 }}
  {{- end }}
spec:
  accessModes: [{{ $p.accessMode }}]
  {{- if $p.hostPath }}
  storageClassName: {{ default "manual" $p.storageClassName }}
  volumeName: {{ printf "%s-%s" .ns .name | trunc 63 | trimSuffix "-" }}
  {{- else if $p.storageClassName }}
  storageClassName: {{ $p.storageClassName }}
  {{- end }}
  resources:
    requests:
      storage: {{ $p.size }}
{{- end -}}

{{/* A NetworkPolicy peer / podSelector for one component. */}}
{{- define "platform.np.component" -}}
podSelector:
  matchLabels:
    app.kubernetes.io/instance: {{ .root.Release.Name }}
    app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* A helm test Pod. */}}
{{- define "platform.testPod" }}
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "platform.fullname" .root }}-test-{{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "platform.labels" (dict "root" .root "component" "test") | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "platform.fullname" .root }}-test
  automountServiceAccountToken: false
  {{- with .root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  securityContext:
    {{- include "platform.podSecurityContext" (dict "uid" .uid "gid" (hasKey . "gid" | ternary .gid .uid)) | nindent 4 }}
  containers:
    - name: {{ .name }}
      image: {{ include "platform.image" .image | quote }}
      imagePullPolicy: {{ .image.pullPolicy }}
      {{- with .command }}
      command: {{ toJson . }}
      {{- end }}
      args:
        {{- toYaml .args | nindent 8 }}
      env:
        {{- toYaml .env | nindent 8 }}
      resources:
        {{- toYaml .root.Values.tests.resources | nindent 8 }}
      securityContext:
        {{- include "platform.containerSecurityContext" (dict "readOnly" true) | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir: {}
{{- end -}}
