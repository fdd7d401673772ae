"""Prometheus metrics side by side with Apache ZooKeeper 3.8's PrometheusMetricsProvider.

The same zoo.cfg (standalone, `metricsProvider.className` naming Apache's provider) runs under
each server; after the same few requests, `/metrics` of each is read. Every metric zk-server
exports must be one Apache exports, with the same type (`# TYPE` line); JVM and process metrics,
which only a JVM has, are left out of the comparison. Values that both count the same way
(znodes, watches, ephemerals, alive connections) must be equal.
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

SAME_VALUES = ("znode_count", "watch_count", "ephemerals_count", "num_alive_connections")


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


def parse(text: str) -> tuple[dict[str, str], dict[str, float]]:
    """The `# TYPE` of each metric and the value of each unlabelled sample."""
    types, values = {}, {}
    for line in text.splitlines():
        if m := re.match(r"# TYPE (\S+) (\S+)$", line):
            types[m[1]] = m[2]
        elif m := re.match(r"([a-z_]+) (\S+)$", line):
            values[m[1]] = float(m[2])
    return ({n: t for n, t in types.items() if not n.startswith(("jvm_", "process_"))}, values)


def run(flavour: str, root) -> tuple[dict[str, str], dict[str, float]]:
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
            return parse(scrape(metrics))
        finally:
            zk.stop()
            zk.close()
    finally:
        server.stop()


@pytest.mark.timeout(180)
def test_metrics_are_named_and_typed_as_apaches_provider_does(tmp_path):
    apache_types, apache_values = run("apache", tmp_path)
    our_types, our_values = run("ours", tmp_path)
    assert our_types, "zk-server exported no metrics"
    unknown = sorted(set(our_types) - set(apache_types))
    assert not unknown, f"metrics Apache's provider does not export: {unknown}"
    mismatched = {n: (t, apache_types[n]) for n, t in our_types.items() if apache_types[n] != t}
    assert not mismatched, f"types differ (ours, Apache's): {mismatched}"
    for name in SAME_VALUES:
        assert our_values[name] == apache_values[name], (name, our_values[name], apache_values[name])
    print(f"{len(our_types)} of Apache's {len(apache_types)} metrics exported, types equal")
