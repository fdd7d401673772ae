# Environment for Debian's zkServer.sh/zkCli.sh inside the ZooKeeper image.
# Replaces Debian's fixed paths with the official image's layout; each value
# can be overridden from the container's environment.
# shellcheck shell=bash
# shellcheck disable=SC2034 # read by zkServer.sh and zkCli.sh

ZOOMAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
ZOOCFGDIR="${ZOO_CONF_DIR:-/conf}"
ZOOCFG="${ZOOCFG:-$ZOOCFGDIR/zoo.cfg}"
ZOO_LOG_DIR="${ZOO_LOG_DIR:-/logs}"
ZOO_LOG4J_PROP="${ZOO_LOG4J_PROP:-INFO,CONSOLE}"
JMXDISABLE="${JMXDISABLE:-true}"
JAVA="${JAVA:-/usr/bin/java}"
# Debian's zookeeper.jar leaves off its class path the slf4j binding, log4j,
# the servlet API (which the AdminServer on port 8080 needs) and the Netty jars
# that its TLS client port needs (codec holds the base of Netty's SslHandler,
# without which NettyServerCnxnFactory closes every connection to
# secureClientPort); the image adds Apache's Prometheus metrics provider and its
# client library.
CLASSPATH="$ZOOCFGDIR:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
CLASSPATH="$CLASSPATH:/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar"
CLASSPATH="$CLASSPATH:/usr/share/java/netty-transport-native-unix-common.jar"
CLASSPATH="$CLASSPATH:/usr/share/java/servlet-api.jar:/usr/share/zookeeper/metrics/*"
JVMFLAGS="-Dzookeeper.root.logger=$ZOO_LOG4J_PROP ${JVMFLAGS:-}"
