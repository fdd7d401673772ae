"""Runs a scripted session of Apache's Java CLI (zkCli) and normalises its output.

Commands go to ZooKeeperMain's stdin one at a time; after each one the CLI's own
`version` command is sent as a marker, so the transcript is cut exactly at command
boundaries without timing guesses. Watch events, which zkCli prints from another thread,
are listed after the replies. Only times, zxids, session ids and ports are
normalised; everything else must match byte for byte.
"""

import re
import subprocess

from servers import apache_classpath

MARKER = "ZooKeeper CLI version:"


def run_session(port: int, commands: list[str], timeout: float = 120.0,
                jvm_flags: tuple[str, ...] = ()) -> str:
    """The normalised transcript of `commands`; `jvm_flags` go to the CLI's JVM (e.g. a JAAS file)."""
    script = "".join(f"{c}\nversion\n" for c in commands) + "quit\n"
    out = subprocess.run(
        ["java", "-cp", apache_classpath(), *jvm_flags, "org.apache.zookeeper.ZooKeeperMain",
         "-server", f"127.0.0.1:{port}"],
        input=script, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    blocks, current = [], []
    for line in out.stdout.splitlines():
        if line.startswith(MARKER):
            blocks.append(current)
            current = []
        elif not line.startswith(("log4j:", "SLF4J:")):
            current.append(line)
    transcript, events = [], []
    for cmd, block in zip(commands, blocks):
        transcript.append(f"$ {cmd}")
        for line in block:
            if line.startswith("WatchedEvent ") and not _is_noise(line):
                events.append(line)
            elif line.strip() and not _is_noise(line):
                transcript.append(line)
    if len(blocks) < len(commands):
        transcript.append(f"!! session ended after {len(blocks)} of {len(commands)} commands")
        transcript.extend(current)
    else:
        events.extend(l for l in current if l.startswith("WatchedEvent ") and " type:None" not in l)
    # zkCli prints watch events from its event thread, racing the main thread's replies: their
    # place among the replies is the client's timing, so they are listed last, in arrival order.
    transcript.extend(f"# watch event: {e}" for e in events)
    return normalise("\n".join(transcript))


def _is_noise(line: str) -> bool:
    return line.startswith(("WATCHER::", "Connecting to", "Welcome to ZooKeeper",
                            "JLine support")) or line.startswith("WatchedEvent state:SyncConnected type:None")


_TIME = re.compile(r"\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} \w+ \d{4}")
_HEX = re.compile(r"0x[0-9a-f]+")


def normalise(text: str) -> str:
    """Replaces times and each distinct zxid/session id by a stable label in order of appearance."""
    labels: dict[str, str] = {}

    def label(kind: str, value: str) -> str:
        key = f"{kind}:{value}"
        if key not in labels:
            labels[key] = f"<{kind}{sum(1 for k in labels if k.startswith(kind + ':'))}>"
        return labels[key]

    text = _TIME.sub("<time>", text)
    out = []
    for line in text.splitlines():
        if line.startswith(("cZxid", "mZxid", "pZxid")):
            line = _HEX.sub(lambda m: m.group(0) if m.group(0) == "0x0" else label("zxid", m.group(0)), line)
        elif line.startswith("ephemeralOwner") and not line.endswith("= 0x0"):
            line = _HEX.sub(lambda m: label("session", m.group(0)), line)
        elif line.startswith("version="):
            line = "version=" + label("zxid", "0x" + line.split("=", 1)[1])
        out.append(line)
    return "\n".join(out)
