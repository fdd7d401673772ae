"""Fixtures shared by the compatibility tests: scratch directories and server pairs."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import Ensemble, Server, free_port, wait_for_port  # noqa: E402


@pytest.fixture
def run_both(tmp_path):
    """Runs `body(port)` against Apache ZooKeeper, then zk-server, started one after the
    other from the same zoo.cfg on the same port (so config text and addresses agree).
    Returns `{"apache": result, "ours": result}`."""
    require_zk_server_bin()

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


@pytest.fixture(scope="module")
def run_both_ensemble(tmp_path_factory):
    """Runs `body(roles)` against a three-member Apache ensemble, then a zk-server one, started
    one flavour after the other from the same zoo.cfg text on the same ports; `roles` maps
    "leader" and "follower" to a member's client port. Returns `{"apache": ..., "ours": ...}`."""
    require_zk_server_bin()

    def run(config: str, body):
        ports = Ensemble.ports()
        root = tmp_path_factory.mktemp("ensemble")
        results = {}
        for flavour in ("apache", "ours"):
            ensemble = Ensemble(flavour, root / flavour, config, ports).start()
            try:
                results[flavour] = body(ensemble.roles())
            finally:
                ensemble.stop()
        return results

    return run


def require_zk_server_bin() -> None:
    if not os.environ.get("ZK_SERVER_BIN"):
        pytest.fail("ZK_SERVER_BIN must name the zk-server binary (scripts/test.sh sets it)")


STANDALONE = """tickTime=2000
dataDir=@DATA@
clientPort=@PORT@
admin.enableServer=false
4lw.commands.whitelist=*
"""

ENSEMBLE = """tickTime=2000
initLimit=10
syncLimit=5
dataDir=@DATA@
clientPort=@PORT@
admin.enableServer=false
4lw.commands.whitelist=*
"""
