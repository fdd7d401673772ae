"""Apache's zkCli gives the same output against zk-server as against Apache ZooKeeper."""

import difflib

from conftest import STANDALONE
from zkcli import run_session

# digest of bob:secret, as zkCli's `addauth digest bob:secret` authenticates it
BOB_DIGEST = "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="

SESSION = [
    "ls /",
    "create /app",
    "create /app/cfg hello",
    "get /app/cfg",
    "get -s /app/cfg",
    "set /app/cfg world",
    "get -s /app/cfg",
    "set -v 5 /app/cfg stale",
    "set -v 1 /app/cfg v2",
    "stat /app/cfg",
    "stat /app",
    "ls /app",
    "ls -s /app",
    "create /app/cfg again",
    "get /nope",
    "create -e /app/eph temp",
    "stat /app/eph",
    "create /app/eph/child x",
    "create -s /app/seq- a",
    "create -s /app/seq- b",
    "create -e -s /app/eseq- c",
    "ls /app",
    "ls -R /",
    "getAllChildrenNumber /",
    "getEphemerals",
    "delete /app",
    "delete -v 9 /app/cfg",
    "delete /app/cfg",
    "delete /app/cfg",
    "create /noparent/x y",
    "getAcl /zookeeper/config",
    "getAcl /",
    "getAcl /zookeeper",
    "get /zookeeper/config",
    "ls /zookeeper",
    "get /zookeeper/quota",
    "set /zookeeper/config x",
    "sync /",
    "create /open x",
    f"setAcl /open digest:{BOB_DIGEST}:r",
    "getAcl /open",
    "get /open",
    "set /open y",
    "setAcl /open world:anyone:cdrwa",
    "addauth digest bob:secret",
    "get /open",
    "set /open y",
    "addauth digest alice:pw",
    "create /secure data",
    "setAcl /secure auth::cdrwa",
    "getAcl /secure",
    "setAcl /bad nosuchscheme:x:cdrwa",
    "create /ttl-less x",
    "setAcl /ttl-less ip:127.0.0.1:rw",
    "getAcl /ttl-less",
    "get /ttl-less",
    "whoami",
    "stat /nope",
    "ls /nope",
    "deleteall /app",
    "ls /",
]

AFTER = ["ls /", "ls /app", "get /secure", "addauth digest alice:pw", "get /secure"]


def test_scripted_session_matches_apache(run_both):
    def body(port):
        return run_session(port, SESSION) + "\n--- second session ---\n" + run_session(port, AFTER)

    out = run_both(STANDALONE, body)
    diff = "\n".join(difflib.unified_diff(out["apache"].splitlines(), out["ours"].splitlines(),
                                          "apache", "ours", lineterm=""))
    assert out["apache"] == out["ours"], diff
