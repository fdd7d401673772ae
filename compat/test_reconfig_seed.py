"""The seed scenario of dynamic reconfiguration, driven by Apache's zkCli, gives the same
transcript against zk-server as against Apache ZooKeeper (three servers on loopback, one
flavour after the other on the same ports).

A one-member leader (standaloneEnabled=false) grows by `reconfig -add` with a server that joined
as a non-voting follower; the dynamic config files follow on both; a third server with only its
own entry leads alone; `reconfig -remove 1` leaves server 1 running as a non-voting follower;
adding the unsynced server fails with NewConfigNoQuorum; removing the last member fails with
BadArguments; `-members` replaces the config; `-v` with a stale version fails with BadVersion;
the removed server comes back as an observer (a watch on /zookeeper/config fires) and becomes a
participant.
Only times, zxids, versions and the scratch directory are normalised.
"""

import difflib
import os
from pathlib import Path

import pytest

from ensemble import BASE, files, mode, normalise_files, wait_for_mode
from servers import Ensemble, Server, wait_for_port
from zkcli import run_session


def scenario(flavour: str, root: Path, ports: dict[str, int]) -> str:
    q, e, c = ports["quorum"], ports["election"], ports["client"]

    def spec(n: int) -> str:
        return f"127.0.0.1:{q[n]}:{e[n]}"

    servers: list[Server] = []
    out: list[str] = []
    try:
        s0 = Server(flavour, root / "zk1", BASE.format(client=c[0]) + f"server.0={spec(0)}\n",
                    myid=0).start()
        servers.append(s0)
        wait_for_port(c[0])
        out.append(f"# server 0 alone: {wait_for_mode(c[0], 'leader')}")

        s1 = Server(flavour, root / "zk2", BASE.format(client=c[1])
                    + f"server.0={spec(0)}\nserver.1={spec(1)}\n", myid=1).start()
        servers.append(s1)
        wait_for_port(c[1])
        out.append(f"# server 1 before reconfig: {wait_for_mode(c[1], 'follower')}")
        out.extend(files(s1, 1))

        out.append(run_session(c[0], [
            "config",
            f"reconfig -add server.1={spec(1)}:participant;{c[1]}",
            "config",
            "get -s /zookeeper/config",
        ]))
        out.append("# files on server 0")
        out.extend(files(s0, 2))
        out.append("# files on server 1")
        out.extend(files(s1, 2))
        out.append(f"# modes: {mode(c[0])}, {mode(c[1])}")

        s2 = Server(flavour, root / "zk3", BASE.format(client=c[2]) + f"server.2={spec(2)}\n",
                    myid=2).start()
        servers.append(s2)
        wait_for_port(c[2])
        out.append(f"# server 2 with only its own entry: {wait_for_mode(c[2], 'leader')}")

        out.append(run_session(c[0], ["reconfig -remove 1", "config"]))
        leader = wait_for_mode(c[0], "leader")
        out.append(f"# after remove: {leader}; removed server 1 still runs: "
                   f"{wait_for_mode(c[1], 'follower')}")
        out.append("# files on server 0")
        out.extend(files(s0, 3))

        out.append(run_session(c[0], [
            f"reconfig -add server.2={spec(2)}:participant;{c[2]}",
            "config",
            "reconfig -remove 0",
            f"reconfig -members server.0={spec(0)}:participant;{c[0]}",
            "config",
            f"reconfig -v 1 -add server.1={spec(1)}:participant;{c[1]}",
            "config",
        ]))

        # roles: the removed server comes back as an observer, then becomes a participant
        out.append(run_session(c[0], [
            "get -w /zookeeper/config",
            f"reconfig -add server.1={spec(1)}:observer;{c[1]}",
        ]))
        out.append(f"# server 1 added as observer: {wait_for_mode(c[1], 'observer')}")
        out.append(run_session(c[0], [
            f"reconfig -add server.1={spec(1)}:participant;{c[1]}",
            "config",
        ]))
        out.append(f"# server 1 participant: {wait_for_mode(c[1], 'follower')}, {mode(c[0])}")
        out.append("# files on server 1")
        out.extend(files(s1, 5))
        return "\n".join(out)
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.mark.skipif(not os.environ.get("ZK_SERVER_BIN"), reason="ZK_SERVER_BIN names zk-server")
def test_seed_scenario_matches_apache(tmp_path):
    ports = Ensemble.ports()
    out = {}
    for flavour in ("apache", "ours"):
        root = tmp_path / flavour
        out[flavour] = normalise_files(scenario(flavour, root, ports), root)
    diff = "\n".join(difflib.unified_diff(out["apache"].splitlines(), out["ours"].splitlines(),
                                          "apache", "ours", lineterm=""))
    assert out["apache"] == out["ours"], diff
