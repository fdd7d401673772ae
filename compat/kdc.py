"""A real MIT Kerberos KDC (Debian's krb5-kdc) for one test: its own realm, database, krb5.conf
and kdc.conf in a scratch directory, listening on a free loopback port; principals are created
and exported to keytabs with kadmin.local. A KDC that does not start fails the test with its log."""

import os
import signal
import subprocess
import time
from pathlib import Path

from servers import free_port

REALM = "EXAMPLE.COM"


class Kdc:
    """A running krb5kdc; `krb5_conf` is the configuration clients and servers use."""

    def __init__(self, root: Path, realm: str = REALM):
        self.root = root
        self.realm = realm
        self.port = free_port()
        self.krb5_conf = root / "krb5.conf"
        self.kdc_conf = root / "kdc.conf"
        self.log = root / "kdc.log"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        """The environment MIT's tools need to find this realm."""
        return dict(os.environ, KRB5_CONFIG=str(self.krb5_conf), KRB5_KDC_PROFILE=str(self.kdc_conf))

    def _run(self, *args: str) -> None:
        out = subprocess.run(args, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}")

    def start(self) -> "Kdc":
        self.root.mkdir(parents=True, exist_ok=True)
        # No DNS and no reverse lookups: service names are taken as written (zookeeper/localhost);
        # TCP only, so Java's and MIT's clients take the same path.
        self.krb5_conf.write_text(
            f"[libdefaults]\n  default_realm = {self.realm}\n  dns_lookup_kdc = false\n"
            "  dns_lookup_realm = false\n  dns_canonicalize_hostname = false\n  rdns = false\n"
            "  udp_preference_limit = 1\n"
            f"[realms]\n  {self.realm} = {{\n    kdc = 127.0.0.1:{self.port}\n  }}\n")
        self.kdc_conf.write_text(
            f"[kdcdefaults]\n  kdc_ports = {self.port}\n  kdc_tcp_ports = {self.port}\n"
            f"[realms]\n  {self.realm} = {{\n    database_name = {self.root}/principal\n"
            f"    key_stash_file = {self.root}/stash\n    acl_file = {self.root}/kadm5.acl\n"
            "    supported_enctypes = aes256-cts:normal aes128-cts:normal\n  }\n"
            f"[logging]\n  kdc = FILE:{self.log}\n")
        self._run("kdb5_util", "create", "-s", "-r", self.realm, "-P", "master-password")
        self.proc = subprocess.Popen(["krb5kdc", "-n", "-r", self.realm], env=self.env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while "commencing operation" not in (self.log.read_text() if self.log.exists() else ""):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log.read_text() if self.log.exists() else "(no log)"
                self.stop()
                raise AssertionError(f"the KDC did not start on port {self.port}:\n{log}")
            time.sleep(0.05)
        return self

    def keytab(self, principal: str, path: Path | None = None) -> Path:
        """Creates `principal` with a random key and exports it to `path` (default: a keytab of
        its own)."""
        path = path or self.root / (principal.replace("/", "_") + ".keytab")
        self._run("kadmin.local", "-r", self.realm, "-q", f"addprinc -randkey {principal}")
        self._run("kadmin.local", "-r", self.realm, "-q", f"ktadd -k {path} {principal}")
        return path

    def rekey(self, principal: str) -> None:
        """Gives `principal` new random keys, leaving keytabs exported earlier stale."""
        self._run("kadmin.local", "-r", self.realm, "-q", f"cpw -randkey {principal}")
        self._run("kadmin.local", "-r", self.realm, "-q", f"purgekeys -all {principal}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
