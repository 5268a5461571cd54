{{/* Existing value of a Secret key (decoded), or a new random one: generated credentials
never change on upgrade. Usage: include "platform.secretValue" (dict "ns" NS "name" NAME "key" KEY "length" 32) */}}
{{- define "platform.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .ns .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (.length | default 32) -}}
{{- end -}}
{{- end -}}
