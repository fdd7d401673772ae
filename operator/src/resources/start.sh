#!/bin/sh
# Renders the member's config at every container start, then runs the server.
#
# The static settings come from the ConfigMap (zoo.cfg.static) and are rendered anew each time. The
# membership comes from the newest dynamic config file the server itself wrote on the volume, as long as it
# lists this member and is not older than the start-up config the operator gave the pod (/bootstrap);
# otherwise from the start-up config. So a member restarted before it was added, or one that finds a stale
# volume, boots from the committed config plus itself instead of crash-looping.
set -eu

: "${ZK_MY_ID:?ZK_MY_ID is required}"
CONF_DIR=${CONF_DIR:-/conf}
DATA_DIR=${DATA_DIR:-/data}
DATALOG_DIR=${DATALOG_DIR:-/datalog}
CONFIG_DIR=${CONFIG_DIR:-/config}
BOOTSTRAP_DIR=${BOOTSTRAP_DIR:-/bootstrap}

mkdir -p "$CONF_DIR" "$DATA_DIR" "$DATALOG_DIR"
echo "$ZK_MY_ID" > "$DATA_DIR/myid"

bootstrap_version=$((0x$(cat "$BOOTSTRAP_DIR/version")))
newest=""
newest_version=-1
for file in "$CONF_DIR"/zoo.cfg.dynamic.*; do
    [ -f "$file" ] || continue
    suffix=${file##*.}
    case "$suffix" in
        *[!0-9a-fA-F]*|"") continue ;;
    esac
    version=$((0x$suffix))
    if [ "$version" -gt "$newest_version" ]; then
        newest=$file
        newest_version=$version
    fi
done

next="$CONF_DIR/zoo.cfg.next"
cp "$CONFIG_DIR/zoo.cfg.static" "$next"
if [ -n "$newest" ] && [ "$newest_version" -ge "$bootstrap_version" ] && grep -q "^server\.$ZK_MY_ID=" "$newest"; then
    echo "membership from $newest"
    echo "dynamicConfigFile=$newest" >> "$next"
else
    echo "membership from the start-up config (version $(cat "$BOOTSTRAP_DIR/version"))"
    cat "$BOOTSTRAP_DIR/servers" >> "$next"
    echo >> "$next"
fi

# spec.restoreFrom (member 1 of a new ensemble): seeds an empty data directory, once, before the first start.
# zk-server imports the backup or Apache data directory; Apache ZooKeeper reads the files as they are.
restore() {
    [ -n "${RESTORE_FROM:-}" ] || return 0
    # An import stages its files in .import-partial inside the data directory (a mount point under a
    # read-only root) and moves them up when done: one left by an interrupted import is not data.
    if [ -n "$(ls -A "$DATA_DIR" "$DATALOG_DIR" | grep -v -e '^myid$' -e '^\.import-partial$' -e ':$' -e '^$')" ]; then
        echo "the data directory holds data: not restoring from $RESTORE_FROM"
        return 0
    fi
    echo "restoring from $RESTORE_FROM${RESTORE_LOG_FROM:+ (logs from $RESTORE_LOG_FROM)}"
    case "${ZK_FLAVOUR:-Apache}" in
        Native)
            set -- --apache-data-dir "$RESTORE_FROM" --data-dir "$DATA_DIR" --config "$CONF_DIR/zoo.cfg"
            [ -z "${RESTORE_LOG_FROM:-}" ] || set -- "$@" --apache-log-dir "$RESTORE_LOG_FROM"
            zk-server import "$@"
            if [ "$DATALOG_DIR" != "$DATA_DIR" ] && [ -d "$DATA_DIR/raft-log" ]; then
                mv "$DATA_DIR/raft-log" "$DATALOG_DIR/raft-log"
            fi
            ;;
        *)
            # Snapshots and epochs go to dataDir, transaction logs to dataLogDir, where Apache reads them.
            mkdir -p "$DATA_DIR/version-2" "$DATALOG_DIR/version-2"
            for from in "$RESTORE_FROM" "${RESTORE_LOG_FROM:-}"; do
                [ -n "$from" ] || continue
                [ -d "$from/version-2" ] && from="$from/version-2"
                for file in "$from"/*; do
                    case "${file##*/}" in
                        log.*) cp "$file" "$DATALOG_DIR/version-2/" ;;
                        snapshot.*|acceptedEpoch|currentEpoch) cp "$file" "$DATA_DIR/version-2/" ;;
                    esac
                done
            done
            ;;
    esac
}

case "${ZK_FLAVOUR:-Apache}" in
    Native)
        echo "zookeeper.DigestAuthenticationProvider.superDigest=$ZK_SUPER_DIGEST" >> "$next"
        mv "$next" "$CONF_DIR/zoo.cfg"
        restore
        exec zk-server "$CONF_DIR/zoo.cfg"
        ;;
    *)
        mv "$next" "$CONF_DIR/zoo.cfg"
        restore
        export ZOOCFGDIR="$CONF_DIR"
        exec zkServer.sh start-foreground
        ;;
esac
