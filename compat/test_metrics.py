"""Prometheus metrics side by side with Apache ZooKeeper 3.8's PrometheusMetricsProvider.

The same zoo.cfg (standalone, `metricsProvider.className` naming Apache's provider) runs under
each server; after the same few requests, `/metrics` of each is read. Every metric zk-server
exports must be one Apache exports, with the same type (`# TYPE` line) and the same label sets
(a summary's `quantile` lines: 0.5, 0.9 and 0.99 for Apache's percentile counters, 0.5 for the
others); JVM and process metrics, which only a JVM has, are left out of the comparison. Values
that both count the same way (znodes, watches, ephemerals, alive connections) must be equal, and
so must the number of reads (`readlatency_count`: two getData).
"""

import re
import time
import urllib.error
import urllib.request

import pytest
from kazoo.client import KazooClient

from servers import Server, free_port, wait_for_port

CONFIG = """tickTime=2000
dataDir=@DATA@
clientPort={client}
admin.enableServer=false
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort={metrics}
"""

SAME_VALUES = ("znode_count", "watch_count", "ephemerals_count", "num_alive_connections",
               "readlatency_count")
# Labels whose values are part of a metric's shape; the values of others (a summary set's `key`)
# depend on the requests.
SHAPE_LABELS = ("quantile", "le")


def scrape(port: int, timeout: float = 30.0) -> str:
    """`/metrics` on `port`, polled until it answers (within `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
                assert reply.status == 200
                return reply.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Exposition:
    """A parsed `/metrics`: the `# TYPE` of each metric (JVM and process metrics left out), the
    label sets of each metric's samples, and the value of each unlabelled sample."""

    def __init__(self, text: str):
        self.types: dict[str, str] = {}
        self.label_sets: dict[str, set[tuple[str, tuple]]] = {}
        self.values: dict[str, float] = {}
        for line in text.splitlines():
            if m := re.match(r"# TYPE (\S+) (\S+)$", line):
                if not m[1].startswith(("jvm_", "process_")):
                    self.types[m[1]] = m[2]
            elif m := re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line):
                name, labels, value = m[1], m[2], m[3]
                family = self.family(name)
                if family is None:
                    continue
                pairs = tuple(sorted(
                    (k, v if k in SHAPE_LABELS else "*")
                    for k, v in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                           labels or "")))
                self.label_sets.setdefault(family, set()).add((name, pairs))
                if not labels:
                    self.values[name] = float(value)

    def family(self, sample: str) -> str | None:
        """The metric a sample belongs to (`x_count` and `x_sum` to the summary `x`)."""
        if sample in self.types:
            return sample
        for suffix in ("_count", "_sum", "_bucket"):
            base = sample.removesuffix(suffix)
            if base != sample and self.types.get(base) in ("summary", "histogram"):
                return base
        return None


def test_a_summary_s_quantile_lines_are_its_label_sets():
    text = """# TYPE readlatency summary
readlatency{quantile="0.5",} NaN
readlatency{quantile="0.99",} 2.0
readlatency_count 3.0
readlatency_sum 4.0
# TYPE write_per_namespace summary
write_per_namespace{key="a",quantile="0.5",} 3.0
write_per_namespace_count{key="a",} 2.0
# TYPE jvm_threads_current gauge
jvm_threads_current 12.0
# TYPE znode_count gauge
znode_count 5.0
"""
    parsed = Exposition(text)
    assert parsed.types == {"readlatency": "summary", "write_per_namespace": "summary",
                            "znode_count": "gauge"}
    assert parsed.label_sets["readlatency"] == {
        ("readlatency", (("quantile", "0.5"),)), ("readlatency", (("quantile", "0.99"),)),
        ("readlatency_count", ()), ("readlatency_sum", ())}
    assert parsed.label_sets["write_per_namespace"] == {
        ("write_per_namespace", (("key", "*"), ("quantile", "0.5"))),
        ("write_per_namespace_count", (("key", "*"),))}
    assert parsed.values == {"readlatency_count": 3.0, "readlatency_sum": 4.0,
                             "znode_count": 5.0}


def run(flavour: str, root) -> Exposition:
    client, metrics = free_port(), free_port()
    server = Server(flavour, root / flavour, CONFIG.format(client=client, metrics=metrics)).start()
    try:
        wait_for_port(client)
        zk = KazooClient(hosts=f"127.0.0.1:{client}")
        zk.start()
        try:
            zk.create("/m", b"x")
            zk.create("/m/e", b"", ephemeral=True)
            zk.get("/m", watch=lambda event: None)
            zk.get("/m")
            return Exposition(scrape(metrics))
        finally:
            zk.stop()
            zk.close()
    finally:
        server.stop()


@pytest.mark.timeout(180)
def test_metrics_are_named_typed_and_labelled_as_apaches_provider_does(tmp_path):
    apache = run("apache", tmp_path)
    ours = run("ours", tmp_path)
    assert ours.types, "zk-server exported no metrics"
    unknown = sorted(set(ours.types) - set(apache.types))
    assert not unknown, f"metrics Apache's provider does not export: {unknown}"
    mismatched = {n: (t, apache.types[n]) for n, t in ours.types.items() if apache.types[n] != t}
    assert not mismatched, f"types differ (ours, Apache's): {mismatched}"
    labelled = {n: (sorted(ours.label_sets.get(n, ())), sorted(apache.label_sets.get(n, ())))
                for n in ours.types if ours.label_sets.get(n) != apache.label_sets.get(n)}
    assert not labelled, f"label sets differ (ours, Apache's): {labelled}"
    for name in SAME_VALUES:
        assert ours.values[name] == apache.values[name], (
            name, ours.values[name], apache.values[name])
    quantiles = sum(1 for n in ours.types for _, labels in ours.label_sets[n] if labels)
    print(f"{len(ours.types)} of Apache's {len(apache.types)} metrics exported, types and "
          f"label sets equal ({quantiles} quantile lines)")
