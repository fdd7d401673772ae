"""Joiners that are not connected yet, side by side with Apache ZooKeeper (three members on
loopback, one flavour after the other on the same ports, driven by Apache's zkCli).

Apache commits a reconfig as soon as a quorum of the NEW configuration is connected and synced
with the leader (the leader included): a participant that runs standalone or not at all may
join, as long as the members already synced make up that quorum. It becomes a voter at once and
catches up when it connects. Where they do not make up a quorum, the answer is
NewConfigNoQuorum.

The scenario: member 1 founds the ensemble and adds 2 and 3 (so it leads in both flavours); from
one session on follower 2, `-remove 3` then `-add` a server 4 that runs standalone; from the
leader, `-remove 4` (stopped), `-members` with a server 5 that is down, `-members` with two down
servers (no quorum); then server 5 starts with the committed configuration, follows and serves
a write. Only times, zxids, versions and the scratch
directory are normalised; server lines are compared in the order each server prints them (Apache's
is its Java HashMap's: after `-remove 3` and `-add server.4`, `config` lists server.4, server.1,
server.2 while a follower's reconfig reply lists them by id). Each session must answer within a
bound of Apache's time (Apache: well under 1 s a reconfig).
"""

import difflib
import os
import time
from pathlib import Path

import pytest

from ensemble import BASE, files, normalise_files, wait_for_mode, wait_for_modes
from servers import Server, free_port, wait_for_port
from zkcli import run_session

STANDALONE = """tickTime=2000
dataDir=@DATA@
clientPort={client}
admin.enableServer=false
4lw.commands.whitelist=*
"""


def scenario(flavour: str, root: Path, ports: dict[str, list[int]], timings: dict) -> str:
    q, e, c = ports["quorum"], ports["election"], ports["client"]

    def spec(n: int) -> str:
        return f"server.{n}=127.0.0.1:{q[n]}:{e[n]}:participant;127.0.0.1:{c[n]}"

    def session(port: int, commands: list[str], label: str) -> str:
        started = time.monotonic()
        out = run_session(port, commands)
        timings[label] = time.monotonic() - started
        return out

    servers: dict[int, Server] = {}
    out: list[str] = []
    try:
        # member 1 founds the ensemble alone, 2 and 3 join it: member 1 leads in both flavours
        servers[1] = Server(flavour, root / "zk1", BASE.format(client=c[1]) + f"{spec(1)}\n",
                            myid=1).start()
        wait_for_port(c[1])
        wait_for_mode(c[1], "leader")
        for n in (2, 3):
            servers[n] = Server(flavour, root / f"zk{n}", BASE.format(client=c[n])
                                + f"{spec(1)}\n{spec(n)}\n", myid=n).start()
        for n in (2, 3):
            wait_for_port(c[n])
            wait_for_mode(c[n], "follower")
        out.append(session(c[1], [f"reconfig -add {spec(2)},{spec(3)}"], "add 2 and 3"))
        modes = wait_for_modes([c[1], c[2], c[3]], ["leader", "follower", "follower"])
        out.append(f"# three members: {modes}")

        # server 4 runs standalone: it is not connected to the ensemble
        servers[4] = Server(flavour, root / "zk4", STANDALONE.format(client=c[4]), myid=4).start()
        wait_for_port(c[4])
        out.append(session(c[2], [
            "reconfig -remove 3",
            f"reconfig -add {spec(4)}",
            "config",
        ], "remove 3, add standalone 4 (from member 2)"))
        modes = wait_for_modes([c[1], c[2]], ["leader", "follower"])
        out.append(f"# members 1 and 2: {modes}")
        out.append(f"# server 4 still standalone: {wait_for_mode(c[4], 'standalone')}")
        out.append("# files on member 1")
        out.extend(files(servers[1], 4))

        # server 4 stops; server 5 is down; 5 and 6 down are no quorum of {1, 2, 5, 6}
        servers.pop(4).stop()
        out.append(session(c[1], [
            "reconfig -remove 4",
            f"reconfig -members {spec(1)},{spec(2)},{spec(5)}",
            "config",
            f"reconfig -members {spec(1)},{spec(2)},{spec(5)},{spec(6)}",
            "get /zookeeper/config",
        ], "remove 4, members with down 5 (from member 1)"))

        # server 5 comes up later with the committed configuration: it catches up and follows
        joined = "".join(f"{spec(n)}\n" for n in (1, 2, 5))
        servers[5] = Server(flavour, root / "zk5", BASE.format(client=c[5]) + joined,
                            myid=5).start()
        wait_for_port(c[5])
        modes = wait_for_modes([c[1], c[2], c[5]], ["leader", "follower", "follower"])
        out.append(f"# after server 5 started: {modes}")
        out.append(run_session(c[5], ["create /joined yes", "get /joined", "config"]))
        out.append("# files on member 2")
        out.extend(files(servers[2], 5))
        return "\n".join(out)
    finally:
        for server in reversed(list(servers.values())):
            server.stop()


@pytest.mark.skipif(not os.environ.get("ZK_SERVER_BIN"), reason="ZK_SERVER_BIN names zk-server")
def test_unconnected_joiners_match_apache(tmp_path):
    ports = {kind: [free_port() for _ in range(7)] for kind in ("quorum", "election", "client")}
    out, timings = {}, {}
    for flavour in ("apache", "ours"):
        root = tmp_path / flavour
        timings[flavour] = {}
        out[flavour] = normalise_files(scenario(flavour, root, ports, timings[flavour]), root)
    print("zkCli session times (s):", timings)
    diff = "\n".join(difflib.unified_diff(out["apache"].splitlines(), out["ours"].splitlines(),
                                          "apache", "ours", lineterm=""))
    assert out["apache"] == out["ours"], diff
    for label, seconds in timings["ours"].items():
        # a zkCli session costs a JVM start (~1-2 s); a held reconfig costs syncLimit (10 s)
        assert seconds < timings["apache"][label] + 4.0, (label, timings)


if __name__ == "__main__":
    import sys
    import tempfile
    flavour = sys.argv[1]
    p = {kind: [free_port() for _ in range(7)] for kind in ("quorum", "election", "client")}
    t: dict = {}
    with tempfile.TemporaryDirectory() as d:
        print(normalise_files(scenario(flavour, Path(d), p, t), Path(d)))
    print(t)
