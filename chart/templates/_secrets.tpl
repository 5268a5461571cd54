{{/* The Secrets the chart generates, as the plan chart/files/generate-secrets.py carries out
inside the cluster: which Secret, in which namespaces, and how each key is made. The plan
holds no secret value, so renders are identical and nothing generated reaches a manifest. */}}
{{- define "platform.generatedSecretsPlan" -}}
{{- $plan := list -}}
{{- $annotations := include "platform.keepOnUninstall" . | fromYaml -}}
{{- /* made by the Job, not by Helm: `helm uninstall` leaves them, as the annotation says */ -}}
{{- $managedBy := dict "app.kubernetes.io/managed-by" (printf "%s-secrets" (include "platform.fullname" .)) -}}
{{- $release := .Release.Namespace -}}
{{- $both := uniq (list $release (include "platform.taskNamespace" .)) -}}
{{- if not (and .Values.airflow.secrets.existingSecret .Values.airflow.admin.existingSecret) }}
{{- $data := dict -}}
{{- if not .Values.airflow.secrets.existingSecret }}
{{- /* a Fernet key is 32 random bytes, urlsafe-base64-encoded; Airflow signs its tokens
with HS512, which wants a 64-byte key */}}
{{- $_ := set $data "fernet-key" (dict "fernet" true) -}}
{{- $_ := set $data "jwt-secret" (dict "random" 64) -}}
{{- $_ := set $data "api-secret-key" (dict "random" 48) -}}
{{- end }}
{{- if not .Values.airflow.admin.existingSecret }}
{{- $_ := set $data "admin-password" (dict "random" 20) -}}
{{- end }}
{{- $plan = append $plan (dict "name" (include "platform.generatedAirflowSecretName" .) "namespaces" (list $release)
  "labels" (merge (dict) $managedBy (omit (include "platform.labels" (dict "root" . "component" "airflow") | fromYaml) "app.kubernetes.io/managed-by" "helm.sh/chart")) "annotations" $annotations "data" $data) -}}
{{- end }}
{{- if .Values.mysql.enabled }}
{{- $mysql := include "platform.mysqlName" . -}}
{{- $data := dict "root-password" (dict "random" 32) -}}
{{- if include "platform.bundledMetadata" . }}
{{- $_ := set $data "airflow-username" (dict "value" .Values.mysql.airflowUsername) -}}
{{- $_ := set $data "airflow-password" (dict "random" 32) -}}
{{- end }}
{{- $plan = append $plan (dict "name" $mysql "namespaces" (list $release)
  "labels" (merge (dict) $managedBy (omit (include "platform.labels" (dict "root" . "component" "mysql") | fromYaml) "app.kubernetes.io/managed-by" "helm.sh/chart")) "annotations" $annotations "data" $data) -}}
{{- if include "platform.bundledMetadata" . }}
{{- $url := printf "mysql+mysqldb://{%s/airflow-username}:{%s/airflow-password}@%s:%v/%s?charset=utf8mb4" $mysql $mysql $mysql .Values.mysql.port .Values.mysql.airflowDatabase -}}
{{- $plan = append $plan (dict "name" (include "platform.metadataSecretName" .) "namespaces" (list $release)
  "labels" (merge (dict) $managedBy (omit (include "platform.labels" (dict "root" . "component" "airflow") | fromYaml) "app.kubernetes.io/managed-by" "helm.sh/chart")) "annotations" $annotations
  "data" (dict "connection" (dict "format" $url))) -}}
{{- end }}
{{- end }}
{{- if not .Values.pipeline.database.existingSecret }}
{{- $plan = append $plan (dict "name" (include "platform.rankingsDbSecretName" .) "namespaces" $both
  "labels" (merge (dict) $managedBy (omit (include "platform.labels" (dict "root" . "component" "movielens-db") | fromYaml) "app.kubernetes.io/managed-by" "helm.sh/chart")) "annotations" $annotations
  "data" (dict "username" (dict "value" .Values.pipeline.database.username) "password" (dict "random" 32))) -}}
{{- end }}
{{- if not .Values.movielensApi.existingSecret }}
{{- $plan = append $plan (dict "name" (include "platform.movielensApiSecretName" .) "namespaces" $both
  "labels" (merge (dict) $managedBy (omit (include "platform.labels" (dict "root" . "component" "movielens-api") | fromYaml) "app.kubernetes.io/managed-by" "helm.sh/chart")) "annotations" $annotations
  "data" (dict "username" (dict "value" .Values.movielensApi.username) "password" (dict "random" 24))) -}}
{{- end }}
{{- toJson $plan -}}
{{- end -}}
