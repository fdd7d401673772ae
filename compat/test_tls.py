"""Client TLS and x509 authentication: Apache's zkCli over TLS (Netty socket) gives the same
transcript against zk-server as against Apache ZooKeeper, and bad TLS input is refused by both
while they keep serving. Certificates are made with openssl for each run (no key is committed)."""

import difflib
import socket
import ssl
import struct
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import require_zk_server_bin
from servers import Server, free_port, wait_for_port
from zkcli import run_session

PASSWORD = "testpass"
# zkCli splits ACL lists at commas, so the ACL names a one-part subject; the other certificate
# shows how a many-part subject reads.
CLIENT_DN = "CN=client"
OTHER_DN = "CN=other,OU=Test,O=zkops"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.pem", "-days", "2", "-subj", f"/CN={name}", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=d)


def make_cert(d: Path, name: str, subject: str, ca: str, san: str | None = None,
              expired: bool = False) -> None:
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", subject, cwd=d)
    ext = d / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-extfile", ext.name, "-days", "2", cwd=d)
    if expired:
        backdate(d / f"{name}.pem", d / f"{ca}.pem", d / f"{ca}.key")
    openssl("pkcs12", "-export", "-in", f"{name}.pem", "-inkey", f"{name}.key", "-out", f"{name}.p12",
            "-passout", f"pass:{PASSWORD}", "-name", name, cwd=d)


def backdate(cert_path: Path, ca_path: Path, ca_key_path: Path) -> None:
    """Re-signs a certificate with a validity period that ended in 2020."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(ca.subject)
               .public_key(cert.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(datetime(2020, 1, 1)).not_valid_after(datetime(2020, 1, 2)))
    cert_path.write_bytes(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_cert(d, "server", "/CN=localhost", "ca", san="DNS:localhost,IP:127.0.0.1")
    make_cert(d, "wronghost", "/CN=elsewhere.example", "ca", san="DNS:elsewhere.example")
    make_cert(d, "client", "/CN=client", "ca")
    make_cert(d, "other", "/O=zkops/OU=Test/CN=other", "ca")
    make_cert(d, "expired", "/CN=expired", "ca", expired=True)
    make_cert(d, "stranger", "/CN=stranger", "otherca")
    return d


def config(certs: Path, server_cert: str = "server") -> str:
    return f"""tickTime=2000
dataDir=@DATA@
clientPort=@PORT@
secureClientPort=@SPORT@
admin.enableServer=false
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
ssl.keyStore.location={certs}/{server_cert}.p12
ssl.keyStore.password={PASSWORD}
ssl.trustStore.location={certs}/ca.pem
ssl.trustStore.type=PEM
"""


def start(flavour: str, root: Path, certs: Path, server_cert: str = "server"):
    port, sport = free_port(), free_port()
    text = config(certs, server_cert).replace("@PORT@", str(port)).replace("@SPORT@", str(sport))
    server = Server(flavour, root / flavour, text,
                    jvm_flags=("-Dzookeeper.X509AuthenticationProvider.superUser=CN=admin",)).start()
    try:
        wait_for_port(port)
        wait_for_listening(sport)
    except Exception:
        server.stop()
        raise
    return server, port, sport


def wait_for_listening(port: int, timeout: float = 30.0) -> None:
    """Waits until `port` accepts connections (four-letter words need TLS there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def cli_flags(certs: Path, cert: str, hostname_verification: bool = True) -> tuple[str, ...]:
    return ("-Dzookeeper.client.secure=true",
            "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
            f"-Dzookeeper.ssl.keyStore.location={certs}/{cert}.p12",
            f"-Dzookeeper.ssl.keyStore.password={PASSWORD}",
            f"-Dzookeeper.ssl.trustStore.location={certs}/ca.pem",
            "-Dzookeeper.ssl.trustStore.type=PEM",
            f"-Dzookeeper.ssl.hostnameVerification={str(hostname_verification).lower()}")


SESSION = [
    "whoami",
    "create /tls data",
    "get /tls",
    "create /mine x",
    f"setAcl /mine x509:{CLIENT_DN}:cdrwa",
    "getAcl /mine",
    "get /mine",
    "create /authed y",
    "setAcl /authed auth::cdra",
    "getAcl /authed",
    "setAcl /authed x509:not-a-name:cdrwa",
    "addauth x509 anything",
    "whoami",
    "ls /",
]

OTHER = ["whoami", "get /mine", "get /tls", "set /mine z", "ls /"]


def tls_transcript(flavour: str, root: Path, certs: Path) -> str:
    """SESSION with the client's certificate, then OTHER with another one, on a fresh server."""
    server, _, sport = start(flavour, root, certs)
    try:
        return (run_session(sport, SESSION, jvm_flags=cli_flags(certs, "client"))
                + "\n--- another certificate ---\n"
                + run_session(sport, OTHER, jvm_flags=cli_flags(certs, "other")))
    finally:
        server.stop()


def test_zkcli_over_tls_matches_apache(tmp_path, certs):
    require_zk_server_bin()
    out = {"ours": tls_transcript("ours", tmp_path / "ours", certs)}
    # Apache adds the certificate's identity when Netty's handshake future completes, which on a
    # loaded machine can come after zkCli's first `whoami`: the reference transcript is taken again
    # (at most three times) until that `whoami` shows the identity.
    for attempt in range(3):
        out["apache"] = tls_transcript("apache", tmp_path / f"apache-{attempt}", certs)
        if f"x509: {CLIENT_DN}\n" in out["apache"].split("$ create /tls", 1)[0]:
            break
    diff = "\n".join(difflib.unified_diff(out["apache"].splitlines(), out["ours"].splitlines(),
                                          "apache", "ours", lineterm=""))
    assert out["apache"] == out["ours"], diff
    # The transcript shows the certificate's identity and an x509 ACL at work.
    assert f"x509: {CLIENT_DN}" in out["ours"] and f"x509: {OTHER_DN}" in out["ours"]
    assert "Insufficient permission : /mine" in out["ours"]


def tls_context(certs: Path, cert: str | None, check_hostname: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(certs / "ca.pem")
    context.check_hostname = check_hostname
    if cert:
        context.load_cert_chain(certs / f"{cert}.pem", certs / f"{cert}.key")
    return context


CONNECT = struct.pack(">iqiq", 0, 0, 30000, 0) + struct.pack(">i", 16) + b"\0" * 16


def zk_connect(sock) -> bytes:
    """Sends a connect request and returns the reply frame ('' if the server closed)."""
    sock.sendall(struct.pack(">i", len(CONNECT)) + CONNECT)
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    return data


def tls_connect(port: int, context: ssl.SSLContext, server_hostname: str = "127.0.0.1") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=server_hostname) as sock:
            return zk_connect(sock)


def session_granted(reply: bytes) -> bool:
    """Whether `reply` is a whole connect response frame (36 bytes or more of body)."""
    return len(reply) >= 40 and struct.unpack(">i", reply[:4])[0] == len(reply) - 4


def refused(attempt) -> bool:
    """Whether `attempt()` failed to get a session: an error, a TLS alert, or the connection closed."""
    try:
        return not session_granted(attempt())
    except (ssl.SSLError, OSError):
        return True


@pytest.mark.parametrize("flavour", ["apache", "ours"])
def test_bad_tls_input_is_refused_and_server_keeps_serving(tmp_path, certs, flavour):
    require_zk_server_bin()
    server, port, sport = start(flavour, tmp_path, certs)
    try:
        good = tls_context(certs, "client")
        assert session_granted(tls_connect(sport, good))
        cases = {
            "expired certificate": lambda: tls_connect(sport, tls_context(certs, "expired")),
            "certificate from another CA": lambda: tls_connect(sport, tls_context(certs, "stranger")),
            "no certificate (clientAuth=need)": lambda: tls_connect(sport, tls_context(certs, None)),
            "plain-text client on the TLS port": lambda: zk_connect(
                socket.create_connection(("127.0.0.1", sport), timeout=10)),
            "TLS client on the plain port": lambda: tls_connect(port, good),
        }
        for name, attempt in cases.items():
            assert refused(attempt), name
            assert session_granted(tls_connect(sport, good)), f"still serving after: {name}"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
            assert session_granted(zk_connect(plain))
    finally:
        server.stop()


@pytest.mark.parametrize("flavour", ["apache", "ours"])
def test_wrong_host_is_refused_by_hostname_verification(tmp_path, certs, flavour):
    require_zk_server_bin()
    server, _, sport = start(flavour, tmp_path, certs, server_cert="wronghost")
    try:
        checking = tls_context(certs, "client", check_hostname=True)
        with pytest.raises(ssl.SSLCertVerificationError):
            tls_connect(sport, checking)
        assert session_granted(tls_connect(sport, tls_context(certs, "client")))
    finally:
        server.stop()
