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

{{/* The generator's pod, for the Job and the install hook.
Usage: include "platform.generateSecretsPodTemplate" (dict "root" $ "serviceAccountName" NAME) */}}
{{- define "platform.generateSecretsPodTemplate" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "platform.labels" (dict "root" $root "component" "secrets") | nindent 4 }}
spec:
  restartPolicy: OnFailure
  serviceAccountName: {{ .serviceAccountName }}
  automountServiceAccountToken: true
  securityContext:
    {{- include "platform.podSecurityContext" (dict "uid" $root.Values.airflow.uid "gid" $root.Values.airflow.gid) | nindent 4 }}
  {{- include "platform.jobScheduling" $root | nindent 2 }}
  containers:
    - name: generate-secrets
      {{- include "platform.airflowImage" $root | nindent 6 }}
      args: ["python", "-c", {{ $root.Files.Get "files/generate-secrets.py" | quote }}]
      env:
        - name: GENERATE_SECRETS
          value: {{ include "platform.generatedSecretsPlan" $root | quote }}
      resources:
        {{- toYaml $root.Values.airflow.initResources | nindent 8 }}
      securityContext:
        {{- include "platform.containerSecurityContext" (dict "readOnly" true) | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir: {}
{{- end -}}

{{/* "true" when the generator can also run as a pre-install hook: there is a plan, and every
namespace it writes to exists before the release's own objects (the chart creates none of
them). Then the Secrets exist before any pod reads them, and the pods do not wait in the
kubelet's 10-15 s retry of a container whose Secret is missing. */}}
{{- define "platform.secretsInstallHook" -}}
{{- $plan := include "platform.generatedSecretsPlan" . -}}
{{- $createsTaskNamespace := and .Values.pipeline.createNamespace (ne (include "platform.taskNamespace" .) .Release.Namespace) -}}
{{- if and (ne $plan "[]") (not $createsTaskNamespace) -}}true{{- end -}}
{{- end -}}

{{/* The install hook's objects: made in weight order before the release's, deleted once the
hook has succeeded (and before a new one is made). Usage: include ... WEIGHT */}}
{{- define "platform.secretsInstallHookAnnotations" -}}
helm.sh/hook: pre-install
helm.sh/hook-weight: {{ . | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}

{{/* What the generator may do in a namespace: create Secrets, and read and complete those of
its plan (names). Kubernetes cannot limit "create" to names (the name is not known when it
authorizes), so that verb covers the namespace's Secrets. */}}
{{- define "platform.secretsRoleRules" -}}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["create"]
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames:
      {{- toYaml . | nindent 6 }}
    verbs: ["get", "patch"]
{{- end -}}

{{/* The generator's pods (the Job's and the install hook's): no ingress; DNS and the
Kubernetes API out. */}}
{{- define "platform.secretsNetworkPolicySpec" -}}
{{- include "platform.np.podSelector" (dict "root" . "component" "secrets") }}
policyTypes: [Ingress, Egress]
ingress: []
egress:
  {{- include "platform.np.egressDns" . | nindent 2 }}
  {{- include "platform.np.egressKubeApi" . | nindent 2 }}
{{- end -}}
