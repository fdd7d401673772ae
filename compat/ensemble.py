"""Helpers of the reconfig scenarios that compare a whole ensemble of each flavour: member
modes through `srvr`, polled with a bound (never a fixed sleep), and the membership files a
member keeps (zoo.cfg, its dynamic files), normalised."""

import re
import time
from pathlib import Path
from typing import Callable

from servers import Server, four_letter_word

BASE = """tickTime=2000
initLimit=10
syncLimit=5
dataDir=@DATA@
clientPort={client}
standaloneEnabled=false
reconfigEnabled=true
skipACL=yes
admin.enableServer=false
4lw.commands.whitelist=*
"""


def mode(port: int) -> str:
    """The `Mode:` line of the member's `srvr` reply (`Mode: ?` when there is none)."""
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


def wait_for_modes(ports: list[int], wanted: list[str], timeout: float = 30.0) -> str:
    """Polls until the members' modes, sorted, are `wanted` (a leader known to all); returns
    them sorted and joined, as the transcript shows them."""
    def modes() -> str:
        return ", ".join(sorted(mode(p).removeprefix("Mode: ") for p in ports))
    return poll(modes, lambda m: m == ", ".join(sorted(wanted)), timeout)


def files(server: Server, versions: int, timeout: float = 10.0) -> list[str]:
    """The server's config files once `versions` dynamic files exist: names, the pointer in
    zoo.cfg, and the newest dynamic file's content. A member writes its files before it serves
    with them, so nothing half written may show here."""
    def dynamic_count() -> str:
        return str(sum(1 for p in server.workdir.iterdir()
                       if ".dynamic." in p.name and not p.name.endswith(".tmp")))
    poll(dynamic_count, lambda n: int(n) >= versions, timeout)
    names = sorted(p.name for p in server.workdir.iterdir() if p.name.startswith("zoo.cfg"))
    pointer = [l for l in server.cfg.read_text().splitlines() if l.startswith("dynamicConfigFile=")]
    out = [f"ls: {' '.join(names)}", *pointer]
    if pointer:
        target = Path(pointer[0].split("=", 1)[1])
        target = target if target.is_absolute() else server.workdir / target
        out.append(target.read_text() if target.exists() else f"missing {target}")
    return out


def normalise_files(text: str, workdir: Path) -> str:
    """Replaces the scratch directory and each distinct dynamic-file version by stable labels."""
    labels: dict[str, str] = {}

    def label(m: re.Match) -> str:
        return "dynamic." + labels.setdefault(m.group(1), f"<v{len(labels)}>")

    text = text.replace(str(workdir), "<dir>")
    return re.sub(r"dynamic\.([0-9a-f]+)", label, text)
