{{/*
Names of things: the release's full name, the objects other templates refer to, the
Secrets and claims a user may replace with their own, and where things live.
*/}}

{{- define "platform.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cut at 40 characters: the longest name built on it is the migration Job's,
"<fullname>-migrate-<10-character checksum>" (19 more), and Kubernetes copies a Job's name
into the `job-name` label of its pods, whose values may not exceed 63 characters. */}}
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

{{/* The values of each component that has a `serviceAccount` block. */}}
{{- define "platform.serviceAccountValues" -}}
{{- $v := .Values -}}
{{- toJson (dict
  "api-server" $v.airflow.apiServer.serviceAccount
  "scheduler" $v.airflow.scheduler.serviceAccount
  "dag-processor" $v.airflow.dagProcessor.serviceAccount
  "triggerer" $v.airflow.triggerer.serviceAccount
  "worker" $v.airflow.workers.serviceAccount
  "migrate" $v.airflow.migrations.serviceAccount
  "tasks" $v.pipeline.taskPods.serviceAccount
  "movielens-api" $v.movielensApi.serviceAccount
  "mysql" $v.mysql.serviceAccount) -}}
{{- end -}}

{{/* The ServiceAccount of a component: its serviceAccount.name, else <fullname>-<component>
when the chart creates it, else the namespace's default. The cleanup hook and the test pods
always have the chart's own. Usage: include "platform.serviceAccountName" (dict "root" $ "component" "scheduler") */}}
{{/* The Secret generator's first-install hook: its Job, ServiceAccount, Roles, RoleBindings
and NetworkPolicy share this name. */}}
{{- define "platform.secretsInstallName" -}}{{ include "platform.fullname" . }}-secrets-install{{- end -}}

{{- define "platform.serviceAccountName" -}}
{{- $sa := get (include "platform.serviceAccountValues" .root | fromJson) .component -}}
{{- if not $sa -}}
{{ include "platform.fullname" .root }}-{{ .component }}
{{- else if $sa.create -}}
{{ default (printf "%s-%s" (include "platform.fullname" .root) .component) $sa.name }}
{{- else -}}
{{ default "default" $sa.name }}
{{- end -}}
{{- end -}}

{{/* ------------------------------------------------------- Airflow objects */}}

{{- define "platform.airflowApiServerName" -}}{{ include "platform.fullname" . }}-api-server{{- end -}}
{{- define "platform.airflowConfigMapName" -}}{{ include "platform.fullname" . }}-config{{- end -}}
{{- define "platform.podTemplateConfigMapName" -}}{{ include "platform.fullname" . }}-pod-template{{- end -}}
{{- define "platform.pipelineConfigMapName" -}}{{ include "platform.fullname" . }}-pipeline{{- end -}}
{{- define "platform.statsdName" -}}{{ include "platform.fullname" . }}-statsd{{- end -}}
{{- define "platform.generatedAirflowSecretName" -}}{{ include "platform.fullname" . }}-airflow{{- end -}}

{{/* The Secret with Airflow's own keys: fernet-key, jwt-secret ([api_auth]) and
api-secret-key ([api] secret_key). */}}
{{- define "platform.airflowKeysSecretName" -}}
{{- default (include "platform.generatedAirflowSecretName" .) .Values.airflow.secrets.existingSecret -}}
{{- end -}}

{{- define "platform.adminSecretName" -}}
{{- default (include "platform.generatedAirflowSecretName" .) .Values.airflow.admin.existingSecret -}}
{{- end -}}

{{/* A user's Secret holds the password under "password"; the generated one shares its
Secret with the keys above. */}}
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

{{/* The Secret with the SQLAlchemy URL of Airflow's metadata database. */}}
{{- define "platform.metadataSecretName" -}}
{{- if include "platform.bundledMetadata" . -}}
{{ include "platform.fullname" . }}-metadata
{{- else -}}
{{ required "airflow.externalDatabase.existingSecret is required when airflow.externalDatabase.enabled is true: a Secret with the SQLAlchemy URL under connectionKey" .Values.airflow.externalDatabase.existingSecret }}
{{- end -}}
{{- end -}}

{{- define "platform.metadataSecretKey" -}}
{{- if include "platform.bundledMetadata" . }}connection{{ else }}{{ .Values.airflow.externalDatabase.connectionKey }}{{ end -}}
{{- end -}}

{{- define "platform.logsClaimName" -}}
{{- default (printf "%s-logs" (include "platform.fullname" .)) .Values.airflow.logs.persistence.existingClaim -}}
{{- end -}}

{{/* -------------------------------------------------- MovieLens and MySQL */}}

{{/* The MovieLens ratings API (the pipeline's data source), not Airflow's api-server. */}}
{{- define "platform.movielensApiName" -}}{{ include "platform.fullname" . }}-movielens-api{{- end -}}

{{- define "platform.movielensApiSecretName" -}}
{{- default (include "platform.movielensApiName" .) .Values.movielensApi.existingSecret -}}
{{- end -}}

{{/* The bundled MySQL: its StatefulSet, Service and generated Secret share this name. */}}
{{- define "platform.mysqlName" -}}{{ include "platform.fullname" . }}-mysql{{- end -}}

{{- define "platform.mysqlClaimName" -}}
{{- default (printf "%s-data" (include "platform.mysqlName" .)) .Values.mysql.persistence.existingClaim -}}
{{- end -}}

{{/* The rankings database's login for the pipeline (username, password). */}}
{{- define "platform.rankingsDbSecretName" -}}
{{- default (printf "%s-movielens-db" (include "platform.fullname" .)) .Values.pipeline.database.existingSecret -}}
{{- end -}}

{{- define "platform.rankingsDbPort" -}}
{{- if .Values.mysql.enabled }}{{ .Values.mysql.port }}{{ else }}{{ .Values.pipeline.database.port }}{{ end -}}
{{- end -}}

{{- define "platform.dataClaimName" -}}
{{- default (printf "%s-data" (include "platform.fullname" .)) .Values.pipeline.data.existingClaim -}}
{{- end -}}

{{/* ------------------------------------------------------------ namespaces */}}

{{/* The namespace of the pipeline's task pods. */}}
{{- define "platform.taskNamespace" -}}
{{- default .Release.Namespace .Values.pipeline.namespace -}}
{{- end -}}

{{/* Every namespace where DAGs may start task pods, space-separated: the pipeline's and
pipeline.extraNamespaces. Usage: range splitList " " (include "platform.taskNamespaces" $) */}}
{{- define "platform.taskNamespaces" -}}
{{- uniq (prepend .Values.pipeline.extraNamespaces (include "platform.taskNamespace" .)) | join " " -}}
{{- end -}}

{{/* A Service of the release as the task pods address it. Usage: dict "root" $ "name" SERVICE */}}
{{- define "platform.serviceHost" -}}
{{- if eq (include "platform.taskNamespace" .root) .root.Release.Namespace -}}
{{- .name -}}
{{- else -}}
{{- printf "%s.%s" .name .root.Release.Namespace -}}
{{- end -}}
{{- end -}}

{{- define "platform.image" -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
