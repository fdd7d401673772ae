"""Apache's zkCli authenticating with SASL DIGEST-MD5 (its JAAS `Client` section) gives the same
transcripts against zk-server as against Apache ZooKeeper: the `sasl` ACL scheme, `whoami`, a user
the ACL leaves out, a wrong password and a super user (`zookeeper.superUser`)."""

import difflib
from pathlib import Path

from conftest import STANDALONE
from zkcli import run_session

SERVER_JAAS = """Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_bob="bob-secret"
    user_eve="eve-secret"
    user_root="root-secret";
};
"""

CONFIG = STANDALONE + "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"

OWNER = [
    "whoami",
    "create /s data",
    "setAcl /s sasl:bob:cdrwa",
    "getAcl /s",
    "get /s",
    "create /s/child x",
    "setAcl /s/child auth::cdr",
    "getAcl /s/child",
    "create /bad x",
    "setAcl /bad sasl:a@b@c:cdrwa",
    "ls /",
]

OTHER = ["whoami", "get /s", "ls /s", "set /s y", "getAcl /s", "ls /"]

SUPER = ["whoami", "get /s", "set /s from-root", "get /s"]


def client_flags(tmp: Path, name: str, user: str, password: str) -> tuple[str, ...]:
    jaas = tmp / f"client-{name}.conf"
    jaas.write_text("Client {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
                    f'    username="{user}"\n    password="{password}";\n}};\n')
    return (f"-Djava.security.auth.login.config={jaas}",)


def test_zkcli_with_sasl_matches_apache(run_both, tmp_path):
    server_jaas = tmp_path / "server-jaas.conf"
    server_jaas.write_text(SERVER_JAAS)
    flags = (f"-Djava.security.auth.login.config={server_jaas}", "-Dzookeeper.superUser=root")

    def body(port):
        parts = []
        for title, user, password, commands in [
            ("bob", "bob", "bob-secret", OWNER),
            ("eve", "eve", "eve-secret", OTHER),
            ("bob, wrong password", "bob", "nope", OTHER),
            ("root, a super user", "root", "root-secret", SUPER),
        ]:
            parts.append(f"--- {title} ---")
            parts.append(run_session(port, commands,
                                     jvm_flags=client_flags(tmp_path, title.split(",")[0], user,
                                                            password)))
        return "\n".join(parts)

    out = run_both(CONFIG, body, jvm_flags=flags)
    diff = "\n".join(difflib.unified_diff(out["apache"].splitlines(), out["ours"].splitlines(),
                                          "apache", "ours", lineterm=""))
    assert out["apache"] == out["ours"], diff
    # The transcript shows what the scheme must do, so a pair of equally broken servers fails too.
    assert "sasl: bob" in out["apache"] and "Insufficient permission" in out["apache"]
    assert "state:AuthFailed" in out["apache"] and "super: " in out["apache"]
