"""Apache ZooKeeper 3.8 data imported into zk-server and exported back.

Apache writes a data set through kazoo and zkCli (persistent, sequential, ephemeral nodes of a
live session and of a closed one, containers, TTL nodes, digest/world/ip ACLs, multi
transactions, data of many sizes) with a low snapCount, so that there are several snapshots
(one taken mid-load) and several transaction logs with preallocated tails. Apache is stopped,
its data imported; zk-server started on the import must serve every znode with the same data,
ACL and stat, and the live session's ephemerals. Then zk-server's data is exported, Apache's own
SnapshotFormatter reads the export, and Apache started on it serves the same again.
"""

import os
import subprocess
import time
from pathlib import Path

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
from kazoo.security import make_acl, make_digest_acl

from conftest import require_zk_server_bin
from servers import Ensemble, Server, apache_classpath, free_port, wait_for_port
from zkcli import run_session

CONFIG = """tickTime=2000
dataDir=@DATA@
clientPort=@PORT@
admin.enableServer=false
4lw.commands.whitelist=*
maxSessionTimeout=60000
"""
# Apache only: a snapshot every 250 to 500 transactions, log files preallocated 64 KiB at a time.
APACHE_ONLY = "snapCount=500\npreAllocSize=64\n"
JVM_FLAGS = ("-Dzookeeper.extendedTypesEnabled=true",)
AUTH = [("digest", "user:secret")]
SIZES = [0, 1, 100, 1000, 5000]


def client(port: int, timeout: float = 30.0) -> KazooClient:
    zk = KazooClient(hosts=f"127.0.0.1:{port}", auth_data=AUTH, timeout=timeout)
    zk.start(timeout=30)
    return zk


def load(port: int, live: KazooClient) -> None:
    """Writes the data set; `live` keeps its ephemerals (its session stays open)."""
    digest = make_digest_acl("user", "secret", all=True)
    world_read = make_acl("world", "anyone", read=True)
    ip = make_acl("ip", "127.0.0.1", all=True)
    zk = client(port)
    try:
        for d in range(60):
            zk.create(f"/app/d{d}", b"dir", makepath=True)
            for i in range(200):
                zk.create(f"/app/d{d}/n{i}", os.urandom(SIZES[i % len(SIZES)]))
        for i in range(500):
            path = f"/app/d{i % 20}/n{i // 20}"
            for v in range(i % 3 + 1):
                zk.set(path, f"v{v}".encode())
        zk.create("/seq", b"")
        for i in range(300):
            zk.create("/seq/item-", str(i).encode(), sequence=True)
        for name in sorted(zk.get_children("/seq"))[::3]:
            zk.delete(f"/seq/{name}")
        zk.create("/acl", b"")
        acls = [[digest], [world_read, digest], [ip], [digest, ip]]
        for i in range(100):
            zk.create(f"/acl/a{i}", b"secured", acl=acls[i % len(acls)])
        for i in range(0, 100, 5):
            zk.set_acls(f"/acl/a{i}", [digest, world_read])
        zk.create("/multi", b"")
        for i in range(50):
            t = zk.transaction()
            t.create(f"/multi/m{i}", b"a")
            t.create(f"/multi/m{i}/x", b"b")
            t.create(f"/multi/m{i}/y", b"c")
            t.set_data(f"/multi/m{i}", b"changed")
            t.delete(f"/multi/m{i}/y")
            t.check(f"/multi/m{i}", 1)
            assert not any(isinstance(r, Exception) for r in t.commit())
        for i in range(5):
            t = zk.transaction()
            t.create(f"/multi/failed{i}", b"")
            t.check("/multi", 99)
            assert any(isinstance(r, Exception) for r in t.commit())
        live.create("/live", b"")
        for i in range(50):
            live.create(f"/live/e{i}", b"ephemeral", ephemeral=True)
        for i in range(10):
            live.create("/live/s-", b"", ephemeral=True, sequence=True)
        closed = client(port)
        closed.create("/gone", b"")
        for i in range(20):
            closed.create(f"/gone/e{i}", b"", ephemeral=True)
        closed.stop()
        closed.close()
        for d in range(0, 60, 2):
            for i in range(0, 200, 5):
                zk.delete(f"/app/d{d}/n{i}")
    finally:
        zk.stop()
        zk.close()
    # Containers (each keeps a child, so neither server deletes it) and TTL nodes: zkCli.
    commands = []
    for i in range(5):
        commands += [f"create -c /containers{i} c", f"create /containers{i}/child x",
                     f"create -t 3600000 /ttl{i} t"]
    out = run_session(port, commands)
    assert "Exception" not in out and "Unimplemented" not in out, out


def dump(port: int) -> dict:
    """Every znode: data, ACL and stat as kazoo returns them."""
    zk = client(port)
    try:
        nodes, stack = {}, ["/"]
        while stack:
            path = stack.pop()
            data, stat = zk.get(path)
            acls, _ = zk.get_acls(path)
            nodes[path] = (data, tuple(stat), [(a.perms, a.id.scheme, a.id.id) for a in acls])
            stack.extend(f"{path.rstrip('/')}/{c}" for c in zk.get_children(path))
        return nodes
    finally:
        zk.stop()
        zk.close()


def differences(expected: dict, found: dict) -> list[str]:
    diffs = [f"missing {p}" for p in expected.keys() - found.keys()]
    diffs += [f"extra {p}" for p in found.keys() - expected.keys()]
    diffs += [f"{p}: {expected[p]!r} != {found[p]!r}" for p in expected.keys() & found.keys()
              if expected[p] != found[p]]
    return sorted(diffs)


def zk_server(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([os.environ["ZK_SERVER_BIN"], *args], capture_output=True, text=True,
                          timeout=300)


def test_apache_data_round_trip(tmp_path: Path):
    require_zk_server_bin()
    port = free_port()
    config = CONFIG.replace("@PORT@", str(port))
    apache = Server("apache", tmp_path / "apache", config + APACHE_ONLY,
                    jvm_flags=JVM_FLAGS).start()
    live = None
    try:
        wait_for_port(port)
        # Reconnect attempts at most a second apart: kazoo's default backoff grows to minutes while no
        # server runs (between two servers here), and the check after each start waits 30 s.
        live = KazooClient(hosts=f"127.0.0.1:{port}", auth_data=AUTH, timeout=60,
                           connection_retry=KazooRetry(max_tries=-1, max_delay=1.0))
        live.start(timeout=30)
        load(port, live)
        original = dump(port)
    finally:
        apache.stop()
    try:
        version = apache.data / "version-2"
        snapshots = sorted(version.glob("snapshot.*"))
        logs = sorted(version.glob("log.*"))
        assert len(snapshots) >= 3 and len(logs) >= 3, (snapshots, logs)
        assert len(original) > 10_000, len(original)
        assert sum(1 for p in original if p.startswith("/live/")) == 60

        # A server pointed at Apache's data refuses to start and says how to import.
        refused_cfg = tmp_path / "refused.cfg"
        refused_cfg.write_text(config.replace("@DATA@", str(apache.data)))
        refused = zk_server(str(refused_cfg))
        assert refused.returncode == 2, refused
        assert "zk-server import --apache-data-dir" in refused.stdout + refused.stderr

        ours = Server("ours", tmp_path / "ours", config, jvm_flags=JVM_FLAGS)
        imported = zk_server("import", "--apache-data-dir", str(apache.data),
                             "--data-dir", str(ours.data), "--config", str(ours.cfg))
        assert imported.returncode == 0, imported
        assert "imported zxid" in imported.stdout, imported.stdout
        ours.start()
        try:
            wait_for_port(port)
            served = dump(port)
            assert differences(original, served) == []
            live_session_resumes(live)
        finally:
            ours.stop()

        back = Server("apache", tmp_path / "back", config, jvm_flags=JVM_FLAGS)
        exported = zk_server("export", "--data-dir", str(ours.data),
                             "--apache-data-dir", str(back.data), "--config", str(ours.cfg))
        assert exported.returncode == 0, exported
        snapshot = next((back.data / "version-2").glob("snapshot.*"))
        formatted = subprocess.run(
            ["java", "-cp", apache_classpath(), "org.apache.zookeeper.server.SnapshotFormatter",
             str(snapshot)], capture_output=True, text=True, timeout=120)
        assert formatted.returncode == 0, formatted.stderr
        assert "/app/d19/n99" in formatted.stdout
        back.start()
        try:
            wait_for_port(port)
            assert differences(original, dump(port)) == []
            live_session_resumes(live)
        finally:
            back.stop()
    finally:
        if live is not None:
            live.stop()
            live.close()


def test_an_import_seeds_the_first_member_of_an_ensemble(tmp_path: Path):
    """Imported with the zoo.cfg of one member of a three-member ensemble, the data is served by
    every member once the others, started empty, have joined."""
    require_zk_server_bin()
    port = free_port()
    apache = Server("apache", tmp_path / "apache", CONFIG.replace("@PORT@", str(port))).start()
    zk = None
    try:
        wait_for_port(port)
        zk = client(port)
        for i in range(200):
            zk.create(f"/e/n{i}", str(i).encode(), makepath=True)
        zk.set("/e/n7", b"changed")
        zk.create("/e/eph", b"", ephemeral=True)
        original = dump(port)
    finally:
        # Stopped before the client: its session stays open in Apache's data.
        apache.stop()
        if zk is not None:
            zk.stop()
            zk.close()
    ports = Ensemble.ports()
    ensemble = Ensemble("ours", tmp_path / "ours", CONFIG + "initLimit=10\nsyncLimit=5\n", ports)
    first = ensemble.servers[0]
    imported = zk_server("import", "--apache-data-dir", str(apache.data),
                         "--data-dir", str(first.data), "--config", str(first.cfg))
    assert imported.returncode == 0, imported
    ensemble.start()
    try:
        ensemble.roles()
        # A distributed server's /zookeeper/config lists its own ensemble.
        expected = {p: v for p, v in original.items() if p != "/zookeeper/config"}
        for member_port in ports["client"]:
            served = {p: v for p, v in dump(member_port).items() if p != "/zookeeper/config"}
            assert differences(expected, served) == [], member_port
    finally:
        ensemble.stop()


def live_session_resumes(live: KazooClient) -> None:
    """The session that was open when Apache stopped reconnects to the new server, its
    ephemerals still there."""
    deadline = time.monotonic() + 30
    while not live.connected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live.connected
    assert len(live.get_children("/live")) == 60
