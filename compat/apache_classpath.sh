#!/usr/bin/env bash
# Prints the Java classpath that runs Debian's Apache ZooKeeper server and CLI,
# with a log4j binding and the Netty jars its manifest leaves out. With --metrics,
# also the Prometheus metrics provider scripts/deps.sh fetched and the jetty jars
# it serves /metrics with (jetty also turns Apache's AdminServer on).
set -euo pipefail
j=/usr/share/java
cp="$j/zookeeper.jar:$j/zookeeper-jute.jar"
for jar in slf4j-api slf4j-log4j12 log4j-1.2 netty-buffer netty-codec netty-common netty-handler \
  netty-resolver netty-transport netty-transport-native-epoll netty-transport-native-unix-common \
  commons-cli jline metrics-core snappy-java commons-io audience-annotations; do
  [[ -f "$j/$jar.jar" ]] && cp="$cp:$j/$jar.jar"
done
metrics_jars="${ZK_CACHE_DIR:-$HOME/.cache/zkops}/maven/zookeeper-prometheus-metrics-3.8.0"
if [[ ${1:-} == --metrics ]]; then
  [[ -f "$metrics_jars/complete" ]] || { echo "run scripts/deps.sh: no $metrics_jars" >&2; exit 1; }
  for jar in "$metrics_jars"/*.jar; do cp="$cp:$jar"; done
  for jar in jetty9-server jetty9-servlet jetty9-http jetty9-io jetty9-util jetty9-security servlet-api; do
    [[ -f "$j/$jar.jar" ]] && cp="$cp:$j/$jar.jar"
  done
fi
echo "$cp"
