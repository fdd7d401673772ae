#!/usr/bin/env bash
# Checks the Helm chart without a cluster: `helm lint`, and `helm template` with the Grafana dashboard
# enabled renders one ConfigMap with the sidecar's label, in the namespace asked for, whose JSON is the
# chart's dashboards/zookeeper.json; with the dashboard off, none. Needs helm (HELM, else the cluster's
# cache, built by e2e/cluster/cluster.sh). Usage: scripts/chart.sh
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"

helm="${HELM:-$cache_dir/k8s-v1.33.13/bin/helm}"
chart=charts/zk-operator

"$helm" lint "$chart" --set dashboard.enabled=true

rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT
"$helm" template zk "$chart" --namespace zk-operator --set dashboard.enabled=true \
  --set dashboard.namespace=monitoring --set-string dashboard.annotations.grafana_folder=ZooKeeper >"$rendered"
python3 - "$rendered" "$chart/dashboards/zookeeper.json" <<'PY'
import json, sys
docs = [d for d in open(sys.argv[1]).read().split("\n---\n") if "kind: ConfigMap" in d and "-dashboard" in d]
assert len(docs) == 1, f"expected one dashboard ConfigMap, found {len(docs)}"
doc = docs[0]
for line in ['grafana_dashboard: "1"', "namespace: monitoring", "grafana_folder: ZooKeeper", "zookeeper.json: |-"]:
    assert line in doc, f"{line!r} missing from the dashboard ConfigMap:\n{doc}"
# The block scalar: every line after the key, indented by four spaces.
body = doc.split("zookeeper.json: |-\n", 1)[1]
text = "\n".join(line[4:] for line in body.splitlines() if line.startswith("    ") or not line)
assert json.loads(text) == json.load(open(sys.argv[2])), "the ConfigMap's JSON differs from the chart's file"
print("dashboard ConfigMap renders:", len(json.loads(text)["panels"]), "panels")
PY

if "$helm" template zk "$chart" | grep -q -- "-dashboard"; then
  echo "the dashboard ConfigMap is rendered although dashboard.enabled is false" >&2
  exit 1
fi
echo "chart checks passed"
