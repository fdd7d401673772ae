#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, idempotently:
# Apache ZooKeeper (the reference server, its Java CLI and C client) from Debian,
# ip and iptables (the robustness tests put members in network namespaces),
# and a Python virtualenv with kazoo and its test dependencies from PyPI.
# Prints the virtualenv path as its last line.
set -euo pipefail

cache_dir="${ZK_CACHE_DIR:-$HOME/.cache/zkops}"
venv="$cache_dir/venv-kazoo-2.11.0-r1"

apt_packages=(zookeeper zookeeper-bin libzookeeper-mt-dev libservlet-api-java netcat-openbsd openjdk-17-jre-headless
  iproute2 iptables)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "deps: creating $venv" >&2
  mkdir -p "$cache_dir"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --upgrade pip >&2
  # pyOpenSSL 24.3+ breaks kazoo 2.11's TLS harness set-up; 24.2.1 works.
  "$venv/bin/pip" install -q "kazoo==2.11.0" "pyOpenSSL==24.2.1" "cryptography<44" pyjks \
    pytest pytest-timeout objgraph gevent eventlet pure_sasl >&2
fi
echo "$venv"
