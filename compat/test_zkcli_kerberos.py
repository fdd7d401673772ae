"""Apache's zkCli authenticating with Kerberos (SASL GSSAPI, its JAAS `Client` section with
Krb5LoginModule and a keytab) gives the same transcripts against zk-server as against Apache
ZooKeeper, both with a `Server` section naming the service keytab of zookeeper/localhost and
both against the same real MIT KDC started here: the `sasl` ACL scheme with the client's
principal, `whoami`, another principal the ACL leaves out, a principal whose keys are not the
KDC's (a refusal), a super user, and a ticket for another service of the server's keytab."""

import difflib
from pathlib import Path

from conftest import STANDALONE
from kdc import REALM, Kdc
from zkcli import run_session

CONFIG = STANDALONE + "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"

OWNER = [
    "whoami",
    "create /k data",
    f"setAcl /k sasl:alice@{REALM}:cdrwa",
    "getAcl /k",
    "get /k",
    "create /k/child x",
    "setAcl /k/child auth::cdr",
    "getAcl /k/child",
    "ls /",
]

OTHER = ["whoami", "get /k", "ls /k", "set /k y", "ls /"]

SUPER = ["whoami", "get /k", "set /k from-root", "get /k"]


def jaas(path: Path, section: str, keytab: Path, principal: str) -> Path:
    path.write_text(f"{section} {{\n    com.sun.security.auth.module.Krb5LoginModule required\n"
                    f'    useKeyTab=true\n    keyTab="{keytab}"\n    storeKey=true\n'
                    f'    useTicketCache=false\n    principal="{principal}";\n}};\n')
    return path


def test_zkcli_with_kerberos_matches_apache(run_both, tmp_path):
    kdc = Kdc(tmp_path / "kdc").start()
    try:
        service = kdc.keytab("zookeeper/localhost")
        alice, bob, root = (kdc.keytab(name) for name in ("alice", "bob", "root"))
        # A principal of the service's keytab that is not the server's own.
        kdc.keytab("other/localhost", service)
        # A keytab whose keys the KDC no longer has: exported, then the principal is re-keyed.
        stale = kdc.keytab("mallory")
        kdc.rekey("mallory")
        krb5 = f"-Djava.security.krb5.conf={kdc.krb5_conf}"
        server_jaas = jaas(tmp_path / "server-jaas.conf", "Server", service,
                           f"zookeeper/localhost@{REALM}")
        flags = (f"-Djava.security.auth.login.config={server_jaas}", krb5,
                 f"-Dzookeeper.superUser=root@{REALM}")

        def client(name: str, keytab: Path, principal: str, *extra: str) -> tuple[str, ...]:
            path = jaas(tmp_path / f"client-{name}.conf", "Client", keytab, principal)
            return (f"-Djava.security.auth.login.config={path}", krb5, *extra)

        def body(port):
            parts = []
            for title, commands, jvm_flags in [
                ("alice", OWNER, client("alice", alice, f"alice@{REALM}")),
                ("bob", OTHER, client("bob", bob, f"bob@{REALM}")),
                ("mallory, stale keys", OTHER, client("mallory", stale, f"mallory@{REALM}")),
                ("root, a super user", SUPER, client("root", root, f"root@{REALM}")),
                ("alice, to a service of the server's keytab that is not its principal", OTHER,
                 client("alice", alice, f"alice@{REALM}", "-Dzookeeper.sasl.client.username=other")),
            ]:
                parts.append(f"--- {title} ---")
                parts.append(run_session(port, commands, jvm_flags=jvm_flags))
            return "\n".join(parts)

        out = run_both(CONFIG, body, jvm_flags=flags)
    finally:
        kdc.stop()
    diff = "\n".join(difflib.unified_diff(out["apache"].splitlines(), out["ours"].splitlines(),
                                          "apache", "ours", lineterm=""))
    assert out["apache"] == out["ours"], diff
    # The transcript shows what Kerberos must do, so a pair of equally broken servers fails too.
    assert f"sasl: alice@{REALM}" in out["apache"] and "Insufficient permission" in out["apache"]
    assert "super: " in out["apache"]
