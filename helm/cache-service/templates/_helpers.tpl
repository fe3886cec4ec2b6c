{{/* Names and labels shared by every object of the chart. */}}
{{- define "cache-service.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cache-service.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cache-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cache-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cache-service.labels" -}}
{{ include "cache-service.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "cache-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cache-service.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The pod's grace period: the service's own shutdown grace, the preStop sleep, and a margin. */}}
{{- define "cache-service.terminationGracePeriodSeconds" -}}
{{- add (div (add .Values.shutdownGraceMs 999) 1000) .Values.preStopSleepSeconds 5 -}}
{{- end -}}

{{/*
Whether the service uses the cluster-aware client: redis.clusteringPolicy OSSCluster, or redis.cluster. A policy of
one endpoint with cluster: true contradicts itself, and fails the render.
*/}}
{{- define "cache-service.redisCluster" -}}
{{- $policy := .Values.redis.clusteringPolicy | default "" -}}
{{- if and .Values.redis.cluster (has $policy (list "EnterpriseCluster" "NoCluster")) -}}
{{- fail (printf "redis.cluster: true contradicts redis.clusteringPolicy %s (one endpoint): unset one" $policy) -}}
{{- end -}}
{{- or .Values.redis.cluster (eq $policy "OSSCluster") -}}
{{- end }}
