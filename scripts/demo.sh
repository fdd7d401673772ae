#!/usr/bin/env bash
# The main job, end to end on this machine: builds zk-server, starts a
# one-member ensemble from an example zoo.cfg, drives a session with Apache's
# own zkCli against it, prints the four-letter-word view, and stops it.
# Usage: scripts/demo.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cache_dir="${ZK_CACHE_DIR:-$HOME/.cache/zkops}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache_dir/cargo-target-$(rustc --version | cut -d' ' -f2)}"
scripts/deps.sh >/dev/null

cargo build --release -p zk-server --bin zk-server
bin="$CARGO_TARGET_DIR/release/zk-server"

work="$(mktemp -d)"
port=2181
cleanup() { [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/data"
sed -e "s#^dataDir=.*#dataDir=$work/data#" -e "s#^dataLogDir=.*#dataLogDir=$work/data#" \
  -e "s#^clientPort=.*#clientPort=$port#" server/examples/zoo.cfg > "$work/zoo.cfg"
echo "== zoo.cfg"; cat "$work/zoo.cfg"
"$bin" "$work/zoo.cfg" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [[ "$(printf ruok | nc -q 1 127.0.0.1 $port 2>/dev/null)" == imok ]] && break
  sleep 0.1
done

echo "== a zkCli session"
java -cp "$(compat/apache_classpath.sh)" org.apache.zookeeper.ZooKeeperMain -server 127.0.0.1:$port <<'CMDS' 2>&1 | grep -v -E '^(log4j|SLF4J)'
create /demo
create /demo/greeting hello
get -s /demo/greeting
create -e -s /demo/member- m
ls -R /demo
get /zookeeper/config
quit
CMDS
echo "== srvr"; printf srvr | nc -q 1 127.0.0.1 $port
echo "== server log (tail)"; tail -n 5 "$work/server.log"
