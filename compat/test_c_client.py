"""Apache ZooKeeper's C client (Debian's libzookeeper-mt) runs the same session against zk-server
as against Apache ZooKeeper: watches, multi, ephemerals, sequential nodes and error codes."""

import difflib
import subprocess
from pathlib import Path

import pytest

from conftest import STANDALONE

SOURCE = Path(__file__).resolve().parent / "c_client" / "session.c"


@pytest.fixture(scope="module")
def session_binary(tmp_path_factory) -> Path:
    binary = tmp_path_factory.mktemp("c_client") / "session"
    subprocess.run(["gcc", "-Wall", "-Werror", "-O1", "-o", str(binary), str(SOURCE),
                    "-lzookeeper_mt", "-lpthread"], check=True)
    return binary


def test_c_client_session_matches_apache(run_both, session_binary):
    def session(port: int) -> str:
        done = subprocess.run([str(session_binary), f"127.0.0.1:{port}"], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = run_both(STANDALONE, session)
    diff = "\n".join(difflib.unified_diff(out["apache"].splitlines(), out["ours"].splitlines(),
                                          "apache", "ours", lineterm=""))
    assert out["apache"] == out["ours"], diff
    # The session did what it set out to do (so that matching output means matching behaviour).
    for line in ["create /c: ok /c",
                 "  event: changed /c/w",
                 "set /c/w version 0 again: bad version",
                 "create /c/e/child: no children for ephemerals",
                 "create sequential /c/s-: ok /c/s-0000000004",
                 "exists /c/m after the failed multi: no node",
                 "delete /c: not empty",
                 "second session: exists /c/e after the first closed: no node",
                 "  event: deleted /c/e"]:
        assert line in out["ours"].splitlines(), f"missing {line!r} in:\n{out['ours']}"
