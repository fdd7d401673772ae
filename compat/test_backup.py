"""Backup through the AdminServer's `snapshot` command, restored into both servers.

zk-server serves a data set (digest and world ACLs, sequential nodes, data of 0 to 5,000 bytes,
sets and deletes); `zk-server backup` fetches its snapshot over HTTP. Apache ZooKeeper 3.8 started
on the backup directory as its dataDir, and zk-server started on its import, serve every znode
with the same data, ACL and stat as the original.
"""

import os
import shutil
from pathlib import Path

from kazoo.security import make_acl, make_digest_acl

from conftest import require_zk_server_bin
from servers import Server, free_port, wait_for_port
from test_import import SIZES, client, differences, dump, zk_server

CONFIG = """tickTime=2000
dataDir=@DATA@
clientPort=@PORT@
4lw.commands.whitelist=*
"""


def write_data_set(port: int) -> None:
    digest = make_digest_acl("user", "secret", all=True)
    world_read = make_acl("world", "anyone", read=True)
    zk = client(port)
    try:
        for d in range(10):
            zk.create(f"/b/d{d}", b"dir", makepath=True, acl=[digest] if d % 3 == 0 else None)
            for i in range(30):
                zk.create(f"/b/d{d}/n{i}", os.urandom(SIZES[i % len(SIZES)]),
                          acl=[world_read, digest] if i % 4 == 0 else None)
        zk.create("/seq", b"")
        for i in range(50):
            zk.create("/seq/s-", str(i).encode(), sequence=True)
        for i in range(40):
            zk.set(f"/b/d{i % 10}/n{i % 30}", f"v{i}".encode())
        for i in range(10):
            zk.delete(f"/b/d{i}/n29")
    finally:
        zk.stop()
        zk.close()


def test_a_backup_restores_into_apache_and_into_zk_server(tmp_path: Path):
    require_zk_server_bin()
    port, admin = free_port(), free_port()
    config = CONFIG.replace("@PORT@", str(port))
    ours = Server("ours", tmp_path / "ours",
                  config + f"admin.enableServer=true\nadmin.serverPort={admin}\n"
                  "admin.serverAddress=127.0.0.1\n").start()
    try:
        wait_for_port(port)
        write_data_set(port)
        original = dump(port)
        backups = tmp_path / "backups"
        taken = zk_server("backup", "--from", f"http://127.0.0.1:{admin}", "--out", str(backups),
                          "--keep", "1")
        assert taken.returncode == 0, taken
    finally:
        ours.stop()
    assert len(original) > 300, len(original)
    [backup] = list(backups.iterdir())
    assert backup.name.startswith("backup-"), backup

    apache = Server("apache", tmp_path / "apache", config + "admin.enableServer=false\n")
    shutil.copytree(backup / "version-2", apache.data / "version-2")
    apache.start()
    try:
        wait_for_port(port)
        assert differences(original, dump(port)) == []
    finally:
        apache.stop()

    restored = Server("ours", tmp_path / "restored", config + "admin.enableServer=false\n")
    imported = zk_server("import", "--apache-data-dir", str(backup), "--data-dir",
                         str(restored.data))
    assert imported.returncode == 0, imported
    restored.start()
    try:
        wait_for_port(port)
        assert differences(original, dump(port)) == []
    finally:
        restored.stop()
