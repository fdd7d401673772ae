#!/usr/bin/env bash
# Prints the Java classpath that runs Debian's Apache ZooKeeper server and CLI,
# with a log4j binding and the Netty jars its manifest leaves out.
set -euo pipefail
j=/usr/share/java
cp="$j/zookeeper.jar:$j/zookeeper-jute.jar"
for jar in slf4j-api slf4j-log4j12 log4j-1.2 netty-buffer netty-codec netty-common netty-handler \
  netty-resolver netty-transport netty-transport-native-epoll netty-transport-native-unix-common \
  commons-cli jline metrics-core snappy-java commons-io audience-annotations; do
  [[ -f "$j/$jar.jar" ]] && cp="$cp:$j/$jar.jar"
done
echo "$cp"
