#!/bin/bash
# Entrypoint of the ZooKeeper image: writes zoo.cfg and myid from ZOO_*
# variables when they are absent, then runs the command.
set -euo pipefail

: "${ZOO_CONF_DIR:=/conf}" "${ZOO_DATA_DIR:=/data}" "${ZOO_DATA_LOG_DIR:=/datalog}" "${ZOO_LOG_DIR:=/logs}"
: "${ZOO_TICK_TIME:=2000}" "${ZOO_INIT_LIMIT:=5}" "${ZOO_SYNC_LIMIT:=2}"
: "${ZOO_AUTOPURGE_SNAPRETAINCOUNT:=3}" "${ZOO_AUTOPURGE_PURGEINTERVAL:=0}"
: "${ZOO_MAX_CLIENT_CNXNS:=60}" "${ZOO_STANDALONE_ENABLED:=true}" "${ZOO_ADMINSERVER_ENABLED:=true}"
export ZOO_CONF_DIR ZOO_DATA_DIR ZOO_DATA_LOG_DIR ZOO_LOG_DIR

write_config() {
	local cfg="$ZOO_CONF_DIR/zoo.cfg" server entry
	{
		echo "dataDir=$ZOO_DATA_DIR"
		echo "dataLogDir=$ZOO_DATA_LOG_DIR"
		echo "tickTime=$ZOO_TICK_TIME"
		echo "initLimit=$ZOO_INIT_LIMIT"
		echo "syncLimit=$ZOO_SYNC_LIMIT"
		echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
		echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
		echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
		echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
		echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
		if [[ -z "${ZOO_SERVERS:-}" ]]; then
			echo "server.1=localhost:2888:3888;2181"
		else
			for server in $ZOO_SERVERS; do echo "$server"; done
		fi
		if [[ -n "${ZOO_4LW_COMMANDS_WHITELIST:-}" ]]; then
			echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
		fi
		for entry in ${ZOO_CFG_EXTRA:-}; do echo "$entry"; done
	} >"$cfg"
}

mkdir -p "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"
if [[ ! -f "$ZOO_CONF_DIR/zoo.cfg" ]]; then
	write_config
fi
if [[ ! -f "$ZOO_CONF_DIR/log4j.properties" && -w "$ZOO_CONF_DIR" ]]; then
	cp /usr/share/zookeeper/image/log4j.properties "$ZOO_CONF_DIR/"
fi
if [[ ! -f "$ZOO_DATA_DIR/myid" ]]; then
	echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
fi

exec "$@"
