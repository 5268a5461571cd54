{{/* The Secrets the chart generates, as the plan chart/files/generate-secrets.py carries out
inside the cluster: which Secret, in which namespaces, and how each key is made. The plan
holds no secret value, so renders are identical and nothing generated reaches a manifest. */}}
{{- define "platform.generatedSecretsPlan" -}}
{{- $plan := list -}}
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
{{- $plan = append $plan (include "platform.generatedSecret" (dict "root" . "name" (include "platform.generatedAirflowSecretName" .) "namespaces" (list $release) "component" "airflow"
  "data" $data) | fromJson) -}}
{{- end }}
{{- if .Values.mysql.enabled }}
{{- $mysql := include "platform.mysqlName" . -}}
{{- $data := dict "root-password" (dict "random" 32) -}}
{{- if include "platform.bundledMetadata" . }}
{{- $_ := set $data "airflow-username" (dict "value" .Values.mysql.airflowUsername) -}}
{{- $_ := set $data "airflow-password" (dict "random" 32) -}}
{{- end }}
{{- $plan = append $plan (include "platform.generatedSecret" (dict "root" . "name" $mysql "namespaces" (list $release) "component" "mysql"
  "data" $data) | fromJson) -}}
{{- if include "platform.bundledMetadata" . }}
{{- $url := printf "mysql+mysqldb://{%s/airflow-username}:{%s/airflow-password}@%s:%v/%s?charset=utf8mb4" $mysql $mysql $mysql .Values.mysql.port .Values.mysql.airflowDatabase -}}
{{- $plan = append $plan (include "platform.generatedSecret" (dict "root" . "name" (include "platform.metadataSecretName" .) "namespaces" (list $release) "component" "airflow"
  "data" (dict "connection" (dict "format" $url))) | fromJson) -}}
{{- end }}
{{- end }}
{{- if not .Values.pipeline.database.existingSecret }}
{{- $plan = append $plan (include "platform.generatedSecret" (dict "root" . "name" (include "platform.rankingsDbSecretName" .) "namespaces" $both "component" "movielens-db"
  "data" (dict "username" (dict "value" .Values.pipeline.database.username) "password" (dict "random" 32))) | fromJson) -}}
{{- end }}
{{- if not .Values.movielensApi.existingSecret }}
{{- $plan = append $plan (include "platform.generatedSecret" (dict "root" . "name" (include "platform.movielensApiSecretName" .) "namespaces" $both "component" "movielens-api"
  "data" (dict "username" (dict "value" .Values.movielensApi.username) "password" (dict "random" 24))) | fromJson) -}}
{{- end }}
{{- toJson $plan -}}
{{- end -}}

{{/* One Secret of the plan: the Job, not Helm, makes it, so it carries the Job's name as its
manager, and `helm uninstall` leaves it (as the keep annotation says).
Usage: include "platform.generatedSecret" (dict "root" $ "name" NAME "namespaces" LIST "component" C "data" DICT) */}}
{{- define "platform.generatedSecret" -}}
{{- $labels := omit (include "platform.labels" (dict "root" .root "component" .component) | fromYaml) "app.kubernetes.io/managed-by" "helm.sh/chart" -}}
{{- $_ := set $labels "app.kubernetes.io/managed-by" (printf "%s-secrets" (include "platform.fullname" .root)) -}}
{{- toJson (dict "name" .name "namespaces" .namespaces "labels" $labels
  "annotations" (include "platform.keepOnUninstall" .root | fromYaml) "data" .data) -}}
{{- end -}}

{{/* The names of the generated Secrets in each namespace, for the generator's Roles: a JSON
object, namespace -> names. */}}
{{- define "platform.generatedSecretNamesByNamespace" -}}
{{- $byNamespace := dict -}}
{{- range include "platform.generatedSecretsPlan" . | fromJsonArray -}}
{{- $name := .name -}}
{{- range .namespaces -}}
{{- $_ := set $byNamespace . (append (get $byNamespace . | default list) $name) -}}
{{- end -}}
{{- end -}}
{{- toJson $byNamespace -}}
{{- end -}}
