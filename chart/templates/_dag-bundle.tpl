{{/* DAGs from Airflow's git DAG bundle (dags.gitBundle): the dag-processor fetches the
repository, each DAG run records the commit it was scheduled with, and every worker pod
checks out that commit, so a push during a run does not change the code of its later tasks. */}}

{{/* Where the bundle's clones live: the /tmp emptyDir every Airflow container has. */}}
{{- define "platform.dagBundleStoragePath" -}}/tmp/airflow/dag-bundles{{- end -}}

{{/* DAGs come from a git repository, by git-sync or by the bundle: their pods need git's egress. */}}
{{- define "platform.dagsFromGit" -}}
{{- if or .Values.dags.gitSync.enabled .Values.dags.gitBundle.enabled }}true{{ end -}}
{{- end -}}

{{/* The [dag_processor] settings of the bundle, as JSON ("{}" when it is off). */}}
{{- define "platform.dagBundleConfig" -}}
{{- $b := .Values.dags.gitBundle -}}
{{- if $b.enabled -}}
{{- if .Values.dags.gitSync.enabled -}}
{{- fail "dags.gitSync.enabled and dags.gitBundle.enabled are both true: choose one source of DAGs (gitBundle pins each run to its commit; gitSync does not)" -}}
{{- end -}}
{{- $kwargs := dict
  "repo_url" (required "dags.gitBundle.repo is required with dags.gitBundle.enabled: the repository URL" $b.repo)
  "tracking_ref" $b.ref
  "refresh_interval" (int $b.refreshInterval) -}}
{{- with trimAll "/" $b.subdir }}{{ $_ := set $kwargs "subdir" . }}{{ end -}}
{{- $_ := set $kwargs "git_conn_id" $b.connectionId -}}
{{- $bundle := dict "name" $b.name "classpath" "airflow.providers.git.bundles.git.GitDagBundle" "kwargs" $kwargs -}}
{{- toJson (dict
  "dag_bundle_config_list" (toJson (list $bundle))
  "bundle_storage_path" (include "platform.dagBundleStoragePath" .)) -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* The repository's connection, in the pods that fetch it (the dag-processor and the worker
pods): from connectionSecret for a private repository, else one without credentials. The
bundle always names a connection: without one, GitHook logs a traceback each time a bundle
object is made (every dag-processor loop and every task) before it falls back to repo_url. */}}
{{- define "platform.dagBundleEnv" -}}
{{- $b := .Values.dags.gitBundle -}}
{{- if $b.enabled -}}
- name: AIRFLOW_CONN_{{ upper $b.connectionId }}
{{- if $b.connectionSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ $b.connectionSecret }}
      key: {{ $b.connectionSecretKey }}
{{- else }}
  value: '{"conn_type": "git"}'
{{- end }}
{{- end }}
{{- end -}}
