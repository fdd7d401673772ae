"""Four-letter words: zk-server's output has Apache ZooKeeper's shape, line for line.

Values that depend on the process (versions, latencies, counters of packets, paths,
JVM properties) are compared by key; values that depend on the data (node counts,
watch counts, mode, configuration) must be equal.
"""

import time

from kazoo.client import KazooClient

from conftest import STANDALONE
from servers import four_letter_word

WATCHED = ["/a", "/a/b", "/c"]


def _with_session(port, words):
    """Opens a kazoo session with data in the tree and watches set, then runs the words."""
    client = KazooClient(hosts=f"127.0.0.1:{port}")
    client.start(timeout=15)
    try:
        client.ensure_path("/a/b")
        client.create("/c", b"x", ephemeral=True)
        for path in WATCHED:
            client.get(path, watch=lambda event: None)
        client.get_children("/a", watch=lambda event: None)
        return {w: four_letter_word(port, w) for w in words}
    finally:
        client.stop()
        client.close()


def _keys(text, sep):
    return [line.split(sep, 1)[0] for line in text.splitlines() if sep in line]


def _pairs(text, sep):
    return dict(line.split(sep, 1) for line in text.splitlines() if sep in line)


def _isro(port):
    # Apache answers "null" for a moment after start-up, until its server object runs
    deadline = time.monotonic() + 10
    answer = four_letter_word(port, "isro")
    while answer == "null" and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = four_letter_word(port, "isro")
    return answer


def test_ruok_and_isro(run_both):
    out = run_both(STANDALONE, lambda port: (four_letter_word(port, "ruok"), _isro(port)))
    assert out["ours"] == out["apache"] == ("imok", "rw")


def test_whitelist_refusal_is_apache_text(run_both):
    config = STANDALONE.replace("4lw.commands.whitelist=*\n", "")
    out = run_both(config, lambda port: [four_letter_word(port, w) for w in ("stat", "mntr", "srvr")])
    assert out["ours"][:2] == out["apache"][:2] == [
        "stat is not executed because it is not in the whitelist.\n",
        "mntr is not executed because it is not in the whitelist.\n",
    ]
    assert out["ours"][2].startswith("Zookeeper version: ")


def test_srvr_stat_lines(run_both):
    out = run_both(STANDALONE, lambda port: _with_session(port, ["srvr", "stat"]))
    for word in ("srvr", "stat"):
        apache, ours = out["apache"][word], out["ours"][word]
        assert _keys(ours, ": ") == _keys(apache, ": "), (word, apache, ours)
        for key in ("Mode", "Node count", "Outstanding"):
            assert _pairs(ours, ": ")[key] == _pairs(apache, ": ")[key], (word, key)


# Prefixes of Apache's summary metrics (min/max/avg/count/sum and percentiles of its internal
# Java request-processor queues and JVM pauses); the plain gauges and counters before them are
# what monitoring tools read.
SUMMARY_PREFIXES = ("zk_avg_", "zk_min_", "zk_max_", "zk_cnt_", "zk_sum_", "zk_p50_", "zk_p95_",
                    "zk_p99_", "zk_p999_")


def test_mntr_has_every_apache_gauge_and_same_data_values(run_both):
    out = run_both(STANDALONE, lambda port: _with_session(port, ["mntr"]))
    apache, ours = _pairs(out["apache"]["mntr"], "\t"), _pairs(out["ours"]["mntr"], "\t")
    gauges = [k for k in apache if not k.startswith(SUMMARY_PREFIXES) or k in (
        "zk_avg_latency", "zk_min_latency", "zk_max_latency")]
    missing = [k for k in gauges if k not in ours]
    assert not missing, f"keys Apache reports that zk-server does not: {missing}"
    for key in ("zk_server_state", "zk_znode_count", "zk_ephemerals_count", "zk_watch_count"):
        assert ours[key] == apache[key], key
    major, minor = ours["zk_version"].split(".")[:2]
    assert (int(major), int(minor)) >= (3, 9)


def test_conf_keys_and_values(run_both):
    out = run_both(STANDALONE, lambda port: _with_session(port, ["conf"]))
    apache, ours = _pairs(out["apache"]["conf"], "="), _pairs(out["ours"]["conf"], "=")
    assert list(ours) == list(apache)
    for key in ("clientPort", "tickTime", "maxClientCnxns", "minSessionTimeout", "maxSessionTimeout",
                "serverId"):
        assert ours[key] == apache[key], key


def test_watch_reports(run_both):
    out = run_both(STANDALONE, lambda port: _with_session(port, ["wchs", "wchp"]))
    assert out["ours"]["wchs"] == out["apache"]["wchs"]
    # wchp: path lines identical as sets (Apache's order is a hash order), session ids differ
    def paths(text):
        return sorted(line for line in text.splitlines() if line.startswith("/"))
    assert paths(out["ours"]["wchp"]) == paths(out["apache"]["wchp"])


def test_envi_names_the_server_version(run_both):
    out = run_both(STANDALONE, lambda port: four_letter_word(port, "envi"))
    assert out["ours"].splitlines()[0] == out["apache"].splitlines()[0] == "Environment:"
    ours = _pairs(out["ours"], "=")
    assert ours["zookeeper.version"].split(".")[0] == "3"
    for key in ("host.name", "os.name", "user.name", "user.dir"):
        assert key in ours, key
