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
import re
import time
from pathlib import Path

import pytest

from servers import Ensemble, Server, mode, wait_for_mode, wait_for_port
from zkcli import run_session

BASE = """tickTime=2000
initLimit=10
syncLimit=5
dataDir=@DATA@
clientPort={client}
standaloneEnabled=false
reconfigEnabled=true
skipACL=yes
admin.enableServer=false
4lw.commands.whitelist=*
"""


def files(server: Server, versions: int, timeout: float = 10.0) -> list[str]:
    """The server's config files once `versions` dynamic files exist: names, the pointer in
    zoo.cfg, and the newest dynamic file's content."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dynamic = sorted(p for p in server.workdir.iterdir() if ".dynamic." in p.name)
        if len(dynamic) >= versions:
            break
        time.sleep(0.2)
    names = sorted(p.name for p in server.workdir.iterdir() if p.name.startswith("zoo.cfg"))
    pointer = [l for l in server.cfg.read_text().splitlines() if l.startswith("dynamicConfigFile=")]
    out = [f"ls: {' '.join(names)}", *pointer]
    if pointer:
        target = Path(pointer[0].split("=", 1)[1])
        target = target if target.is_absolute() else server.workdir / target
        out.append(target.read_text() if target.exists() else f"missing {target}")
    return out


def normalise_files(text: str, workdir: Path) -> str:
    labels: dict[str, str] = {}

    def label(m: re.Match) -> str:
        return "dynamic." + labels.setdefault(m.group(1), f"<v{len(labels)}>")

    text = text.replace(str(workdir), "<dir>")
    return re.sub(r"dynamic\.([0-9a-f]+)", label, text)


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
        time.sleep(2)
        out.append(f"# after remove: {mode(c[0])}; removed server 1 still runs: {mode(c[1])}")
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
