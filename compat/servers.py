"""Starts and stops the two server flavours the compatibility tests compare.

`apache` is Debian's Apache ZooKeeper (the reference); `ours` is zk-server, whose
binary path comes from ZK_SERVER_BIN (scripts/test.sh builds it). Both are started
from the same zoo.cfg text, in a scratch directory of their own.
"""

import os
import socket
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def apache_classpath() -> str:
    return subprocess.check_output([str(HERE / "apache_classpath.sh")], text=True).strip()


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
            args = ["java", "-cp", apache_classpath(),
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
