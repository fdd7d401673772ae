#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, idempotently:
# Apache ZooKeeper (the reference server, its Java CLI and C client) from Debian,
# ip and iptables (the robustness tests put members in network namespaces),
# Apache's Prometheus metrics provider and its client library from Maven Central
# (Debian packages neither), and a Python virtualenv with kazoo and its test
# dependencies from PyPI; openssl makes the TLS tests' certificates; MIT Kerberos (a KDC, its admin
# tools, kinit, and the GSS-API headers and libclang the server's GSS-API bindings are built with)
# for the Kerberos tests and the server's SASL GSSAPI.
# Prints the virtualenv path as its last line.
set -euo pipefail

cache_dir="${ZK_CACHE_DIR:-$HOME/.cache/zkops}"
venv="$cache_dir/venv-kazoo-2.11.0-r1"

apt_packages=(zookeeper zookeeper-bin libzookeeper-mt-dev libservlet-api-java libjetty9-java netcat-openbsd
  openjdk-17-jre-headless iproute2 iptables curl openssl krb5-kdc krb5-admin-server krb5-user libkrb5-dev
  libclang-dev)

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

# The jars Apache ZooKeeper 3.8.0's PrometheusMetricsProvider needs beside Debian's (jetty, servlet-api).
metrics_jars="$cache_dir/maven/zookeeper-prometheus-metrics-3.8.0"
if [[ ! -f "$metrics_jars/complete" ]]; then
  echo "deps: fetching Apache's Prometheus metrics provider into $metrics_jars" >&2
  mkdir -p "$metrics_jars"
  for artifact in org/apache/zookeeper/zookeeper-prometheus-metrics/3.8.0 io/prometheus/simpleclient/0.9.0 \
    io/prometheus/simpleclient_common/0.9.0 io/prometheus/simpleclient_hotspot/0.9.0 \
    io/prometheus/simpleclient_servlet/0.9.0; do
    name="$(basename "$(dirname "$artifact")")-$(basename "$artifact").jar"
    curl -fsSL --retry 3 -o "$metrics_jars/$name" "https://repo1.maven.org/maven2/$artifact/$name"
  done
  touch "$metrics_jars/complete"
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
# kazoo's GSSAPI tests need pykerberos (a C extension built against libkrb5-dev); added to existing
# virtualenvs too.
if ! "$venv/bin/python" -c 'import kerberos' 2>/dev/null; then
  "$venv/bin/pip" install -q "kerberos==1.3.1" >&2
fi
echo "$venv"
