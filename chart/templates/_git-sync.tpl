{{/* DAGs from git-sync: the container (a sidecar, or an init container in worker pods),
its volumes, and the folder Airflow reads. */}}

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

{{/* Usage: include "platform.gitSyncContainer" (dict "root" $ "oneTime" BOOL); one-time is the
worker pods' init container: it syncs once and exits. */}}
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

{{/* The DAG mount in the Airflow containers that parse or run DAGs. */}}
{{- define "platform.dagsMount" -}}
- name: dags
  mountPath: {{ include "platform.gitSyncRoot" . }}
  readOnly: true
{{- end -}}
