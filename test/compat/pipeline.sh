#!/usr/bin/env bash
# What the existing system's pipelines do after a load test, against dpready: call the three
# routes exactly as they do (topN on pod-health too), extract the figures with jq, check that
# each is present and of the existing type, and merge the three bodies into one results file.
#
# usage: pipeline.sh SERVER LABEL_SELECTOR RESULTS_FILE
#   e.g. pipeline.sh http://127.0.0.1:8080 podgroup=deployment-churn /tmp/results.json
# Exit 0 when every check passes; 1 naming the first failed check.
set -euo pipefail

server=${1:?usage: pipeline.sh SERVER LABEL_SELECTOR RESULTS_FILE}
selector=${2:?usage: pipeline.sh SERVER LABEL_SELECTOR RESULTS_FILE}
results=${3:?usage: pipeline.sh SERVER LABEL_SELECTOR RESULTS_FILE}

if ! command -v jq >/dev/null; then
  # CI runs as root on Debian/Ubuntu: install it rather than depend on a hand-installed one.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get install -y -qq jq >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq jq >/dev/null; }) \
      || { echo "pipeline.sh: jq is missing and apt-get could not install it" >&2; exit 1; }
  else
    echo "pipeline.sh: jq is required (apt-get install jq)" >&2; exit 1
  fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The pipeline's own calls: the selector goes into the URL unencoded, as it always did.
curl -fsS "$server/api/v1/time-to-start?topN=10&labelSelector=$selector" > "$tmp/start.json"
curl -fsS "$server/api/v1/time-to-datapath-ready?topN=10&labelSelector=$selector" > "$tmp/dp.json"
curl -fsS "$server/api/v1/pod-health?topN=10&labelSelector=$selector" > "$tmp/health.json"

fail() { echo "pipeline.sh: $*" >&2; exit 1; }

# The extractions, then the checks a results-file consumer relies on: every value present
# (not null) and of the existing type (integers where Go had int/int64, a number for successPct).
is_int='(type == "number") and (. == floor)'
for f in start dp; do
  jq -c '{totalSuccessful, totalFailed, p50, p90, p99}' "$tmp/$f.json" > "$tmp/$f.fig"
  jq -e "to_entries | all(.value != null and (.value | $is_int))" "$tmp/$f.fig" >/dev/null \
    || fail "$f: a figure is null or not an integer: $(cat "$tmp/$f.fig")"
  jq -e "(.worstPods | type == \"array\") and (.failedPods | type == \"array\")
         and all(.worstPods[]; (.value | $is_int) and (.namespace | type == \"string\") and (.name | type == \"string\") and (.uid | type == \"string\"))
         and all(.failedPods[]; (.namespace | type == \"string\") and (.name | type == \"string\") and (.uid | type == \"string\"))" "$tmp/$f.json" >/dev/null \
    || fail "$f: worstPods/failedPods are not arrays of the existing shape"
done
jq -c '{desiredReplicas, runningPods, pendingPods, failedPods, successPct}' "$tmp/health.json" > "$tmp/health.fig"
jq -e "(.desiredReplicas, .runningPods, .pendingPods, .failedPods | $is_int) and (.successPct | type == \"number\")" "$tmp/health.fig" >/dev/null \
  || fail "pod-health: a figure is null or of the wrong type: $(cat "$tmp/health.fig")"
jq -e '(.pendingPodList | type == "array") and (.failedPodList | type == "array")
       and all(.pendingPodList[], .failedPodList[]; (.phase | type == "string") and (.name | type == "string"))' "$tmp/health.json" >/dev/null \
  || fail "pod-health: pendingPodList/failedPodList are not arrays of the existing shape"

# The merged results file, keyed as the pipeline keys it.
jq -n --slurpfile s "$tmp/start.json" --slurpfile d "$tmp/dp.json" --slurpfile h "$tmp/health.json" \
  '{"time-to-start": $s[0], "time-to-datapath-ready": $d[0], "pod-health": $h[0]}' > "$results"
echo "time-to-start $(cat "$tmp/start.fig")"
echo "time-to-datapath-ready $(cat "$tmp/dp.fig")"
echo "pod-health $(cat "$tmp/health.fig")"
