"""Starts and stops the two server flavours the compatibility tests compare.

`apache` is Debian's Apache ZooKeeper (the reference); `ours` is zk-server, whose
binary path comes from ZK_SERVER_BIN (scripts/test.sh builds it). Both are started
from the same zoo.cfg text, in a scratch directory of their own.
"""

import os
import socket
import subprocess
import time
from typing import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def apache_classpath(*options: str) -> str:
    """Apache's classpath; `--metrics` adds the Prometheus provider (see apache_classpath.sh)."""
    return subprocess.check_output([str(HERE / "apache_classpath.sh"), *options],
                                   text=True).strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # srvr is the one word every whitelist allows; an answer means the server is serving
            if four_letter_word(port, "srvr", timeout=1.0).startswith("Zookeeper version:"):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"no server answered srvr on port {port} within {timeout}s")


def mode(port: int) -> str:
    """The `Mode:` line of the server's srvr reply (`Mode: ?` if it has none)."""
    reply = four_letter_word(port, "srvr")
    return next((l for l in reply.splitlines() if l.startswith("Mode:")), "Mode: ?")


def poll(probe: Callable[[], str], done: Callable[[str], bool], timeout: float = 30.0) -> str:
    """Calls `probe` every 0.1 s until `done` accepts its answer or `timeout` passes; returns
    the last answer (an OSError counts as the answer `error`)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            seen = probe()
        except OSError:
            seen = "error"
        if done(seen) or time.monotonic() >= deadline:
            return seen
        time.sleep(0.1)


def wait_for_mode(port: int, wanted: str, timeout: float = 30.0) -> str:
    """Polls `srvr` until the member reports `wanted` (or `timeout` passes); the last mode seen."""
    return poll(lambda: mode(port), lambda m: m == f"Mode: {wanted}", timeout)


def four_letter_word(port: int, word: str, timeout: float = 5.0) -> str:
    """Sends a four-letter word and returns the whole reply (read until the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(word.encode())
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode()


class Server:
    """One running server process of either flavour."""

    def __init__(self, flavour: str, workdir: Path, config: str, myid: int | None = None,
                 jvm_flags: tuple[str, ...] = ()):
        self.flavour = flavour
        self.workdir = workdir
        self.data = workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        if myid is not None:
            (self.data / "myid").write_text(f"{myid}\n")
        self.cfg = workdir / "zoo.cfg"
        self.cfg.write_text(config.replace("@DATA@", str(self.data)))
        self.jvm_flags = jvm_flags
        self.log = open(workdir / "server.log", "wb")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        if self.flavour == "apache":
            (self.workdir / "log4j.properties").write_text(
                "log4j.rootLogger=INFO, F\nlog4j.appender.F=org.apache.log4j.ConsoleAppender\n"
                "log4j.appender.F.layout=org.apache.log4j.PatternLayout\n"
                "log4j.appender.F.layout.ConversionPattern=%d %-5p [%t] %c{1} - %m%n\n")
            # A configuration that names Apache's Prometheus provider gets its jars.
            options = ("--metrics",) if "metricsProvider.className" in self.cfg.read_text() else ()
            args = ["java", "-cp", apache_classpath(*options),
                    f"-Dlog4j.configuration=file:{self.workdir / 'log4j.properties'}",
                    *self.jvm_flags,
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(self.cfg)]
            env = dict(os.environ)
        else:
            args = [os.environ["ZK_SERVER_BIN"], str(self.cfg)]
            env = dict(os.environ, SERVER_JVMFLAGS=" ".join(self.jvm_flags))
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.workdir)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Ensemble:
    """Three voting members of one flavour on loopback, each with its own scratch directory,
    zoo.cfg (`base` plus `server.N=127.0.0.1:quorum:election;127.0.0.1:client` lines) and myid."""

    SIZE = 3

    def __init__(self, flavour: str, root: Path, base: str, ports: dict[str, list[int]]):
        members = "".join(
            f"server.{n}=127.0.0.1:{ports['quorum'][n]}:{ports['election'][n]};"
            f"127.0.0.1:{ports['client'][n]}\n" for n in range(self.SIZE))
        self.client_ports = ports["client"]
        self.servers = [
            Server(flavour, root / f"zk{n}", base.replace("@PORT@", str(ports["client"][n]))
                   + members, myid=n)
            for n in range(self.SIZE)]

    @staticmethod
    def ports() -> dict[str, list[int]]:
        """Free loopback ports for a three-member ensemble: quorum, election and client."""
        return {kind: [free_port() for _ in range(Ensemble.SIZE)]
                for kind in ("quorum", "election", "client")}

    def start(self) -> "Ensemble":
        for server in self.servers:
            server.start()
        return self

    def roles(self, timeout: float = 60.0) -> dict[str, int]:
        """Polls srvr until one member leads and the others follow; returns the client ports of
        the leader and of one follower as `{"leader": port, "follower": port}`."""
        deadline = time.monotonic() + timeout
        modes: list[str] = []
        while time.monotonic() < deadline:
            modes = [self._mode(port) for port in self.client_ports]
            if sorted(modes) == ["Mode: follower", "Mode: follower", "Mode: leader"]:
                return {"leader": self.client_ports[modes.index("Mode: leader")],
                        "follower": self.client_ports[modes.index("Mode: follower")]}
            time.sleep(0.2)
        raise TimeoutError(f"no leader with two followers within {timeout}s: {modes}")

    @staticmethod
    def _mode(port: int) -> str:
        try:
            return mode(port)
        except OSError:
            return "Mode: ?"

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
