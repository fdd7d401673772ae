#!/usr/bin/env bash
# Times `zk-server import` of an Apache snapshot of N znodes (default 1,000,000) written by
# Apache's own classes (GenerateSnapshot.java). Usage: compat/bench/import.sh ZK_SERVER_BIN [N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?the zk-server binary}
count=${2:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp=$("$here/../apache_classpath.sh")
javac -d "$work/classes" -cp "$cp" "$here/GenerateSnapshot.java"
java -Xmx4g -cp "$cp:$work/classes" GenerateSnapshot "$work/apache" "$count" 2>/dev/null
ls -l "$work"/apache/version-2/
start=$(date +%s.%N)
"$bin" import --apache-data-dir "$work/apache" --data-dir "$work/zk"
end=$(date +%s.%N)
echo "import of $count znodes: $(echo "$end - $start" | bc) s wall clock"
du -sh "$work/zk"
