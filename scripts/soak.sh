#!/usr/bin/env bash
# The soak test, on demand (not in CI): an ensemble of zk-server members on this
# machine (a network namespace each) under 200 churning sessions with watches,
# ephemerals, expiring and closing sessions and mixed reads and writes, going
# 3 -> 5 -> 3 members by reconfig every 2 minutes, its leader SIGKILLed and
# restarted every 5 minutes; every member sampled every 10 s (RSS, open fds,
# watches, sessions, znodes, log and snapshot disk, the load's p99 latency), the
# history checked for linearizability segment by segment. Writes soak.csv,
# soak.png and summary.md into the output directory (default soak-out/ under the
# cache); --docs also into docs/soak/ and the section "Soak" of
# docs/robustness.md. Exits 1 when a goal was not met. Needs root and Go.
#
#   scripts/soak.sh [--minutes N] [--out DIR] [--docs] [-- zk-soak options]
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"

minutes=60
out="$cache_dir/soak-out"
docs=()
while (($#)); do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --docs) docs=(--docs "$root/docs"); shift ;;
    --) shift; break ;;
    *) echo "usage: scripts/soak.sh [--minutes N] [--out DIR] [--docs] [-- zk-soak options]" >&2; exit 2 ;;
  esac
done

cargo build --release -p zk-server -p zk-robustness --bin zk-server --bin zk-soak
exec "$CARGO_TARGET_DIR/release/zk-soak" --server-bin "$CARGO_TARGET_DIR/release/zk-server" \
  --minutes "$minutes" --out "$out" "${docs[@]}" "$@"
