"""One session pipelining 64 dependent requests gets the same frames, in the same order, from
zk-server as from Apache ZooKeeper: through the leader and a follower of a three-member ensemble,
and on a single server.

The client speaks the wire protocol over a raw socket and writes all 64 request frames in one
`sendall`, so they are in flight together. The requests depend on each other: reads right after
writes of the same node, version checks against versions earlier writes produced, watches set by
one request and fired by a later write, a multi that succeeds and one that rolls back, sequential
names that count earlier creates. Every frame up to the end of the session is recorded: replies
(xid, zxid, error, decoded body) and notifications (type, state, path). Times and the session id
are normalised; each zxid is replaced by its rank among the transcript's zxids, so that the order
of zxids is compared too. Children lists are sorted, as ZooKeeper leaves their order unspecified.
A notification's header zxid is the one wire difference by design (see `stamped_as_38`).
Besides matching Apache, each transcript is checked on its own: replies in request order, each
write's events right before its reply, write zxids rising in request order.
"""

import socket
import struct
from dataclasses import dataclass

import pytest

from conftest import ENSEMBLE, STANDALONE

CREATE, DELETE, EXISTS, GET_DATA, SET_DATA = 1, 2, 3, 4, 5
GET_CHILDREN, GET_CHILDREN2, CHECK, MULTI, CREATE2, CLOSE = 8, 12, 13, 14, 15, -11
WRITES = {CREATE, DELETE, SET_DATA, MULTI, CREATE2}
EPHEMERAL, SEQUENTIAL = 1, 2
NODE_CREATED, NODE_DELETED, NODE_DATA_CHANGED, NODE_CHILDREN_CHANGED = 1, 2, 3, 4
REQUESTS = 64


# --- jute encoding ---------------------------------------------------------------------------

def jint(value: int) -> bytes:
    return struct.pack(">i", value)


def jlong(value: int) -> bytes:
    return struct.pack(">q", value)


def jbool(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


def jbuffer(data: bytes | None) -> bytes:
    return jint(-1) if data is None else jint(len(data)) + data


def jstring(text: str) -> bytes:
    return jbuffer(text.encode())


WORLD_ANYONE = jint(31) + jstring("world") + jstring("anyone")  # an ACL entry: perms, scheme, id


def frame(payload: bytes) -> bytes:
    return jint(len(payload)) + payload


@dataclass(frozen=True)
class Zxid:
    """A zxid as read from the wire; `normalise` replaces it by its rank in the transcript."""
    value: int


class Reader:
    """Reads jute values from one frame's payload."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def int(self) -> int:
        return self.take(">i")

    def long(self) -> int:
        return self.take(">q")

    def bool(self) -> bool:
        return self.take(">?")

    def buffer(self) -> bytes | None:
        size = self.int()
        if size < 0:
            return None
        data = self.data[self.pos:self.pos + size]
        self.pos += size
        return data

    def string(self) -> str | None:
        data = self.buffer()
        return None if data is None else data.decode()

    def zxid(self) -> Zxid:
        return Zxid(self.long())

    def stat(self) -> dict:
        """A Stat with times dropped and the ephemeral owner reduced to 'is there one'."""
        czxid, mzxid = self.zxid(), self.zxid()
        self.long(), self.long()  # ctime, mtime
        version, cversion, aversion = self.int(), self.int(), self.int()
        ephemeral = self.long() != 0
        data_length, children = self.int(), self.int()
        return {"czxid": czxid, "mzxid": mzxid, "version": version, "cversion": cversion,
                "aversion": aversion, "ephemeral": ephemeral, "dataLength": data_length,
                "numChildren": children, "pzxid": self.zxid()}

    def done(self) -> bool:
        return self.pos == len(self.data)


# --- requests --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """One request: its op code, encoded body and the events (type, path) it must fire."""
    op: int
    body: bytes
    fires: tuple[tuple[int, str], ...] = ()


def create(path: str, data: bytes, flags: int = 0, op: int = CREATE, fires=()) -> Request:
    body = jstring(path) + jbuffer(data) + jint(1) + WORLD_ANYONE + jint(flags)
    return Request(op, body, tuple(fires))


def create2(path: str, data: bytes, flags: int = 0, fires=()) -> Request:
    return create(path, data, flags, CREATE2, fires)


def delete(path: str, version: int, fires=()) -> Request:
    return Request(DELETE, jstring(path) + jint(version), tuple(fires))


def set_data(path: str, data: bytes, version: int, fires=()) -> Request:
    return Request(SET_DATA, jstring(path) + jbuffer(data) + jint(version), tuple(fires))


def check(path: str, version: int) -> Request:
    """A version check, for multi: Apache 3.8 never answers a successful check sent alone."""
    return Request(CHECK, jstring(path) + jint(version))


def read(op: int, path: str, watch: bool = False) -> Request:
    """exists, getData, getChildren or getChildren2: a path and a watch flag."""
    return Request(op, jstring(path) + jbool(watch))


def multi(ops: list[Request], fires=()) -> Request:
    body = b"".join(jint(op.op) + jbool(False) + jint(-1) + op.body for op in ops)
    return Request(MULTI, body + jint(-1) + jbool(True) + jint(-1), tuple(fires))


def script(root: str) -> list[Request]:
    """The 64 requests, each depending on the ones before it."""
    a, b, c, m, x, nope = (f"{root}/{name}" for name in ("a", "b", "c", "m", "x", "nope"))
    requests = [
        create(root, b"root"),
        read(GET_CHILDREN, root, watch=True),
        read(EXISTS, a, watch=True),
        create(a, b"a0", fires=[(NODE_CREATED, a), (NODE_CHILDREN_CHANGED, root)]),
        read(GET_DATA, a, watch=True),
        set_data(a, b"a1", 0, fires=[(NODE_DATA_CHANGED, a)]),
        read(GET_DATA, a),
        set_data(a, b"stale", 0),  # BadVersion: a is at version 1
        read(GET_DATA, a),
        set_data(a, b"a2", -1),
        multi([check(a, 2)]),
        multi([check(a, 1)]),  # BadVersion
        create(b, b"b"),
        create2(f"{root}/s-", b"s", SEQUENTIAL),
        create2(f"{root}/s-", b"s", SEQUENTIAL),
        create(f"{root}/e-", b"e", EPHEMERAL | SEQUENTIAL),
        read(GET_CHILDREN2, root),
        delete(b, 5),  # BadVersion
        read(EXISTS, b, watch=True),
        delete(b, 0, fires=[(NODE_DELETED, b)]),
        read(EXISTS, b),  # gone
        read(GET_DATA, nope),  # NoNode
        delete(nope, -1),  # NoNode
        set_data(nope, b"x", -1),  # NoNode
        create(f"{nope}/child", b""),  # NoNode (no parent)
        create(a, b"dup"),  # NodeExists
        delete(root, -1),  # NotEmpty
        read(GET_CHILDREN, root, watch=True),
        read(GET_DATA, a, watch=True),
        multi([create(m, b"m"), set_data(a, b"a3", 2), check(a, 3),
               delete(f"{root}/s-0000000002", 0)],
              fires=[(NODE_CHILDREN_CHANGED, root), (NODE_DATA_CHANGED, a)]),
        read(GET_DATA, a),
        read(EXISTS, m),
        read(EXISTS, x, watch=True),
        multi([create(x, b"x"), set_data(a, b"lost", 0), delete(m, 0)]),  # BadVersion, rolled back
        read(EXISTS, x),
        read(GET_DATA, a),
        read(GET_DATA, m),
        create(x, b"x2", fires=[(NODE_CREATED, x)]),  # the watch outlived the rolled-back multi
        create(c, b"0"),
        read(GET_DATA, c, watch=True),
    ]
    for version in range(1, 12):
        requests += [set_data(c, str(version).encode(), version - 1,
                              fires=[(NODE_DATA_CHANGED, c)]),
                     read(GET_DATA, c, watch=True)]
    requests += [delete(c, 11, fires=[(NODE_DELETED, c)]), read(GET_CHILDREN2, root)]
    assert len(requests) == REQUESTS
    return requests


# --- replies ---------------------------------------------------------------------------------

def decode_body(op: int, r: Reader):
    """The reply body of a successful request of type `op`."""
    if op in (CREATE, CREATE2):
        path = r.string()
        return (path, r.stat()) if op == CREATE2 else path
    if op in (EXISTS, SET_DATA):
        return r.stat()
    if op == GET_DATA:
        return r.buffer(), r.stat()
    if op in (GET_CHILDREN, GET_CHILDREN2):
        children = sorted(r.string() for _ in range(r.int()))
        return (children, r.stat()) if op == GET_CHILDREN2 else children
    if op == MULTI:
        return decode_multi(r)
    return None


def decode_multi(r: Reader) -> list:
    """A multi's results: (type, err, body) per op, up to the done marker."""
    results = []
    while True:
        op, done, err = r.int(), r.bool(), r.int()
        if done:
            return results
        body = r.int() if op == -1 else decode_body(op, r)
        results.append((op, err, body))


def decode_frame(payload: bytes, ops: dict[int, int]) -> tuple:
    """A reply ('reply', xid, zxid, err, body) or a notification ('event', zxid, type, state,
    path); `ops` maps the xids sent to their op codes."""
    r = Reader(payload)
    xid, zxid, err = r.int(), r.zxid(), r.int()
    if xid == -1:
        entry = ("event", zxid, r.int(), r.int(), r.string())
    else:
        entry = ("reply", xid, zxid, err, decode_body(ops.get(xid), r) if err == 0 else None)
    assert r.done(), f"{len(payload) - r.pos} bytes left over in {entry}"
    return entry


def map_zxids(value, fn):
    """`value` (nested tuples, lists and dicts) with every Zxid in it replaced by fn(zxid)."""
    if isinstance(value, Zxid):
        return fn(value.value)
    if isinstance(value, (list, tuple)):
        return type(value)(map_zxids(item, fn) for item in value)
    if isinstance(value, dict):
        return {key: map_zxids(item, fn) for key, item in value.items()}
    return value


def normalise(transcript: list) -> list:
    """Replaces every zxid by its rank among the distinct zxids of the transcript (-1 stays)."""
    zxids: set[int] = set()
    map_zxids(transcript, zxids.add)
    rank = {zxid: f"z{i}" for i, zxid in enumerate(sorted(zxids - {-1}))}
    return map_zxids(transcript, lambda zxid: rank.get(zxid, -1))


# --- the session -----------------------------------------------------------------------------

class Connection:
    """A raw client connection that reads whole frames."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.pending = b""

    def read_frame(self) -> bytes | None:
        """The next frame's payload, or None once the server has closed the connection."""
        while True:
            if len(self.pending) >= 4:
                size = struct.unpack_from(">i", self.pending)[0]
                if len(self.pending) >= 4 + size:
                    payload, self.pending = self.pending[4:4 + size], self.pending[4 + size:]
                    return payload
            chunk = self.sock.recv(65536)
            if not chunk:
                assert not self.pending, f"connection closed inside a frame: {self.pending!r}"
                return None
            self.pending += chunk

    def connect(self) -> tuple:
        """Opens a session; returns (protocolVersion, timeOut, password length, readOnly)."""
        self.sock.sendall(frame(jint(0) + jlong(0) + jint(10000) + jlong(0) + jbuffer(bytes(16))
                                + jbool(False)))
        r = Reader(self.read_frame())
        version, timeout, _session = r.int(), r.int(), r.long()
        return ("connected", version, timeout, len(r.buffer()), r.bool())


def read_frames(conn: Connection, ops: dict[int, int], replies: int | None) -> list:
    """Decoded frames up to the `replies`th reply (or all of them if None), ending with a
    ("closed",) entry if the server closes the connection first."""
    frames, seen = [], 0
    while replies is None or seen < replies:
        payload = conn.read_frame()
        if payload is None:
            return frames + [("closed",)]
        frames.append(decode_frame(payload, ops))
        seen += frames[-1][0] == "reply"
    return frames


def pipelined_session(port: int, root: str) -> list:
    """Runs the script in one session with all requests in flight together, then closes the
    session and reads to the end of the connection; returns every frame received, normalised."""
    requests = script(root)
    ops = {xid: request.op for xid, request in enumerate(requests, start=1)}
    close_xid = REQUESTS + 1
    ops[close_xid] = CLOSE
    conn = Connection(port)
    try:
        transcript = [conn.connect()]
        conn.sock.sendall(b"".join(frame(jint(xid) + jint(request.op) + request.body)
                                   for xid, request in enumerate(requests, start=1)))
        transcript += read_frames(conn, ops, REQUESTS)
        if transcript[-1] != ("closed",):
            conn.sock.sendall(frame(jint(close_xid) + jint(CLOSE)))
            transcript += read_frames(conn, ops, None)
    finally:
        conn.sock.close()
    return normalise(transcript)


# --- checks ----------------------------------------------------------------------------------

def check_own_merits(transcript: list, root: str) -> None:
    """What the transcript must show whatever the server: replies in request order, each write's
    events right before its reply (and no others), write zxids rising in request order."""
    requests = script(root)
    replies = [entry for entry in transcript if entry[0] == "reply"]
    assert [entry[1] for entry in replies] == list(range(1, REQUESTS + 2)), "replies out of order"

    events_before: list[list] = [[] for _ in range(len(replies) + 1)]
    index = 0
    for entry in transcript[1:]:
        if entry[0] == "event":
            events_before[index].append((entry[2], entry[4]))
        elif entry[0] == "reply":
            index += 1
    for xid, request in enumerate(requests, start=1):
        assert sorted(events_before[xid - 1]) == sorted(request.fires), \
            f"events right before reply {xid}"
    assert events_before[REQUESTS:] == [[], []], "events after the last request's reply"

    write_zxids = [int(entry[2][1:]) for entry in replies[:REQUESTS]
                   if requests[entry[1] - 1].op in WRITES]
    assert write_zxids == sorted(set(write_zxids)), f"write zxids not rising: {write_zxids}"


def stamped_as_38(transcript: list) -> list:
    """zk-server speaks the 3.9 wire, where a notification's header carries the zxid of the write
    that fired it; Apache 3.8, the reference here, sends -1. Checks that every notification
    carries the zxid of the reply after it (the write that fired it), then stamps it -1."""
    out = []
    for index, entry in enumerate(transcript):
        if entry[0] == "event":
            reply = next(later for later in transcript[index:] if later[0] == "reply")
            assert entry[1] == reply[2], f"{entry} is not stamped with the zxid of {reply}"
            entry = ("event", -1, *entry[2:])
        out.append(entry)
    return out


def compare(out: dict, root: str) -> None:
    """The zk-server transcript equals Apache's frame for frame, and stands on its own."""
    check_own_merits(out["apache"], root)
    out = {"apache": out["apache"], "ours": stamped_as_38(out["ours"])}
    first = next((i for i, (ours, apache) in enumerate(zip(out["ours"], out["apache"]))
                  if ours != apache), min(len(out["ours"]), len(out["apache"])))
    assert out["ours"] == out["apache"], (
        f"first difference at frame {first}:\n apache: {out['apache'][first:first + 3]}\n"
        f" ours:   {out['ours'][first:first + 3]}")
    check_own_merits(out["ours"], root)


@pytest.fixture(scope="module")
def ensemble_transcripts(run_both_ensemble):
    """Both flavours' transcripts through the leader and through a follower of one ensemble."""
    return run_both_ensemble(ENSEMBLE, lambda roles: {
        role: pipelined_session(port, f"/order-{role}") for role, port in roles.items()})


@pytest.mark.parametrize("role", ["leader", "follower"])
def test_pipelined_session_through_ensemble_matches_apache(ensemble_transcripts, role):
    compare({flavour: out[role] for flavour, out in ensemble_transcripts.items()}, f"/order-{role}")


def test_pipelined_session_on_single_server_matches_apache(run_both):
    compare(run_both(STANDALONE, lambda port: pipelined_session(port, "/order")), "/order")
