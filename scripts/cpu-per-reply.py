#!/usr/bin/env python3
"""CPU time of zk-server per reply under one zk-bench row, on demand (not in CI).

Runs `zk-bench --servers ours` for one workload and concurrency (14 s, no memory load), and
over 6 s in the middle of the row reads the members' CPU time (utime + stime from
/proc/<pid>/stat) and their `zk_packets_sent` (mntr): the CPU a reply costs, less sensitive
to a shared machine's noise than a throughput. Compare two builds by alternating them.

    cargo build --release -p zk-server -p zk-bench
    scripts/cpu-per-reply.py target/release/zk-server create 256x1 [members]
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

# zk-bench's default first client port; member i listens on PORT + i.
PORT = 22181
# The copied binary's name, unique enough to find its processes by it.
NAME = "zk-cpu-probe"


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def packets_sent(port):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"mntr")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    for line in data.decode().splitlines():
        if line.startswith("zk_packets_sent"):
            return int(line.split()[1])
    raise RuntimeError(f"no zk_packets_sent from port {port}")


def members():
    out = subprocess.run(["pgrep", "-x", NAME], capture_output=True, text=True).stdout
    return sorted(int(pid) for pid in out.split())


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    binary, workload, concurrency = sys.argv[1:4]
    size = int(sys.argv[4]) if len(sys.argv) == 5 else 1
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    with tempfile.TemporaryDirectory() as scratch:
        probe = os.path.join(scratch, NAME)
        shutil.copy(binary, probe)
        bench = subprocess.Popen(
            [os.path.join(target, "release", "zk-bench"), "--servers", "ours", "--server-bin", probe,
             "--workloads", workload, "--concurrency", concurrency, "--duration", "14",
             "--max-ops", "100000000", "--memory-znodes", "0", "--ensemble", str(size)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while len(members()) < size:
            time.sleep(0.2)
        # Past the start, the pool and the warm-up.
        time.sleep(6)
        pids, ports = members(), [PORT + i for i in range(size)]
        cpu0, sent0, t0 = sum(map(cpu_seconds, pids)), sum(map(packets_sent, ports)), time.time()
        time.sleep(6)
        cpu1, sent1, t1 = sum(map(cpu_seconds, pids)), sum(map(packets_sent, ports)), time.time()
        if bench.wait() != 0:
            sys.exit("zk-bench failed")
    replies = sent1 - sent0
    print(f"{workload} {concurrency}: {replies / (t1 - t0):.0f} replies/s, "
          f"{1e6 * (cpu1 - cpu0) / replies:.1f} µs of CPU per reply, "
          f"{(cpu1 - cpu0) / (t1 - t0):.2f} cores")


if __name__ == "__main__":
    main()
