"""Fixtures shared by the compatibility tests: scratch directories and server pairs."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import Server, free_port, wait_for_port  # noqa: E402


@pytest.fixture
def run_both(tmp_path):
    """Runs `body(port)` against Apache ZooKeeper, then zk-server, started one after the
    other from the same zoo.cfg on the same port (so config text and addresses agree).
    Returns `{"apache": result, "ours": result}`."""
    if not os.environ.get("ZK_SERVER_BIN"):
        pytest.fail("ZK_SERVER_BIN must name the zk-server binary (scripts/test.sh sets it)")

    def run(config: str, body, jvm_flags: tuple[str, ...] = ()):
        port = free_port()
        results = {}
        for flavour in ("apache", "ours"):
            server = Server(flavour, tmp_path / flavour, config.replace("@PORT@", str(port)),
                            jvm_flags=jvm_flags).start()
            try:
                wait_for_port(port)
                results[flavour] = body(port)
            finally:
                server.stop()
        return results

    return run


STANDALONE = """tickTime=2000
dataDir=@DATA@
clientPort=@PORT@
admin.enableServer=false
4lw.commands.whitelist=*
"""
