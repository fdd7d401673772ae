#!/usr/bin/env bash
# Runs kazoo's own test suite (kazoo.tests, from the installed kazoo package)
# against a server flavour: `apache` (Debian's Apache ZooKeeper) or `ours`
# (zk-server, built by the caller). Extra arguments go to pytest.
#   compat/kazoo/run.sh apache|ours [pytest args...]
# Environment: ZK_SERVER_BIN (ours), KAZOO_CLUSTER_SIZE (default 3),
# KAZOO_EXCLUDE (a file of test ids to deselect, one per line).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
flavour="${1:?usage: run.sh apache|ours [pytest args]}"; shift
venv="$("$here/../../scripts/deps.sh" | tail -n 1)"
tests_dir="$("$venv/bin/python" -c 'import kazoo.tests, os; print(os.path.dirname(kazoo.tests.__file__))')"

# The version of the server under test: kazoo gates tests on it (and checks it on CI).
export ZOOKEEPER_VERSION=3.8.0
export ZOOKEEPER_CLASSPATH="$("$here/../apache_classpath.sh")"
export ZOOKEEPER_CLUSTER_SIZE="${KAZOO_CLUSTER_SIZE:-3}"
export ZOOKEEPER_PORT_OFFSET="${KAZOO_PORT_OFFSET:-20000}"
if [[ "$flavour" == ours ]]; then
  : "${ZK_SERVER_BIN:?set ZK_SERVER_BIN to the zk-server binary}"
  export ZK_SERVER_BIN REAL_JAVA="$(command -v java)"
  export PATH="$here/launcher:$PATH"
  ZOOKEEPER_VERSION="$(sed -n 's/.*ZOOKEEPER_COMPATIBLE_VERSION: &str = "\(.*\)";/\1/p' \
    "$here/../../server/src/fourlw/version.rs")"
fi
deselect=()
if [[ -n "${KAZOO_EXCLUDE:-}" ]]; then
  while read -r id; do
    [[ -z "$id" || "$id" == \#* ]] && continue
    deselect+=(--deselect "$id")
  done < "$KAZOO_EXCLUDE"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
# Test ids in the exclusion file are relative to the kazoo.tests package, its rootdir here.
"$venv/bin/python" -m pytest -p no:cacheprovider -q --timeout 120 --rootdir "$tests_dir" "$tests_dir" \
  "${deselect[@]}" "$@"
