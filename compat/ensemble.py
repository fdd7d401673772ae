"""Helpers of the reconfig scenarios that compare a whole ensemble of each flavour: member
modes through `srvr`, polled with a bound (never a fixed sleep), and the membership files a
member keeps (zoo.cfg, its dynamic files), normalised."""

import re
from pathlib import Path

from servers import Server, mode, poll, wait_for_mode

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
