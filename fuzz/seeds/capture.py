"""Captures the fuzz targets' seed corpus from real traffic and files of a running zk-server.

Starts zk-server (ZK_SERVER_BIN) standalone with snapCount=20, puts a recording TCP proxy in
front of its client port, and drives Apache's zkCli session of compat/test_zkcli_session.py and
a kazoo session (multi, watches, ACLs, sequential and ephemeral nodes) through it.
Each client connection's bytes become one seed of `client_session`; the server's log segments
seed `log_segment` and its snapshots `snapshot`. Usage (from the repository root):

    ZK_SERVER_BIN=... python fuzz/seeds/capture.py fuzz/seeds
"""

import hashlib
import socket
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "compat"))

from kazoo.client import KazooClient  # noqa: E402
from kazoo.security import make_digest_acl  # noqa: E402

from servers import Server, free_port, wait_for_port  # noqa: E402
from test_zkcli_session import SESSION  # noqa: E402
from zkcli import run_session  # noqa: E402

CONFIG = """tickTime=2000
dataDir=@DATA@
clientPort={client}
admin.enableServer=false
snapCount=20
extendedTypesEnabled=true
4lw.commands.whitelist=*
"""


class RecordingProxy:
    """Forwards connections on `port` to `target`, keeping what each client sent."""

    def __init__(self, target: int):
        self.target = target
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.streams: list[bytearray] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            sent = bytearray()
            self.streams.append(sent)
            threading.Thread(target=self._pipe, args=(client, server, sent), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, None), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, record: bytearray | None) -> None:
        try:
            while chunk := src.recv(65536):
                if record is not None:
                    record.extend(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def kazoo_session(port: int) -> None:
    zk = KazooClient(hosts=f"127.0.0.1:{port}")
    zk.start()
    try:
        zk.add_auth("digest", "bob:secret")
        zk.create("/k", b"root", acl=[make_digest_acl("bob", "secret", all=True)])
        zk.create("/k/seq-", b"s", sequence=True)
        zk.create("/k/eph", b"e", ephemeral=True)
        zk.get("/k", watch=lambda e: None)
        zk.get_children("/k", watch=lambda e: None)
        tx = zk.transaction()
        tx.create("/k/m1", b"1")
        tx.set_data("/k", b"again")
        tx.check("/k/m1", 0)
        tx.delete("/k/m1")
        tx.commit()
        zk.set_acls("/k/seq-0000000000", [make_digest_acl("bob", "secret", read=True)])
        zk.get_acls("/k")
        for i in range(30):
            zk.create(f"/k/n{i}", bytes(i))
        zk.sync("/k")
        zk.delete("/k/n0")
    finally:
        zk.stop()
        zk.close()


def save(directory: Path, blobs: list[bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for blob in blobs:
        if blob:
            (directory / hashlib.sha1(blob).hexdigest()).write_bytes(blob)


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        client = free_port()
        server = Server("ours", Path(scratch), CONFIG.format(client=client)).start()
        try:
            wait_for_port(client)
            proxy = RecordingProxy(client)
            run_session(proxy.port, SESSION)
            kazoo_session(proxy.port)
        finally:
            server.stop()
        save(out / "client_session", [bytes(s) for s in proxy.streams])
        data = Path(scratch) / "data"
        save(out / "log_segment", [p.read_bytes() for p in data.rglob("*.seg")])
        save(out / "snapshot", [p.read_bytes() for p in data.rglob("snapshot*")
                                if p.is_file()])
    for target in ("client_session", "log_segment", "snapshot"):
        print(target, len(list((out / target).glob("*"))), "seeds")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
