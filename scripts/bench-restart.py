#!/usr/bin/env python3
"""Restart time of `sitrep run` with N active alerts (issue #3): posts N
distinct alerts in batches of 1,000 over HTTP (durability on), measures the ingest rate,
kills the server with SIGKILL, and times the restart until it listens again (snapshot
restore + journal tail replay). Prints the batches' round-trip times too: a snapshot that
holds the engine shows as the slowest batches. Usage:
scripts/bench-restart.py [N] [SNAPSHOT_EVERY] [MIN_INTERVAL_MS]"""
import http.client, json, os, shutil, signal, subprocess, sys, tempfile, time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
every = sys.argv[2] if len(sys.argv) > 2 else "100000"
min_interval = sys.argv[3] if len(sys.argv) > 3 else "10000"
bin_ = os.environ.get("SITREP_BIN") or os.path.join(os.path.dirname(__file__), "..", "target", "release", "sitrep")
data = tempfile.mkdtemp(prefix="sitrep-restart-")


def start():
    t = time.perf_counter()
    p = subprocess.Popen([bin_, "run", "--data", data, "--listen", "127.0.0.1:0", "--snapshot-every", every,
                          "--snapshot-min-interval-ms", min_interval],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    return p, line.split("http://")[1].split()[0], time.perf_counter() - t


p, addr, first = start()
host, port = addr.split(":")
conn = http.client.HTTPConnection(host, int(port))
t0 = time.perf_counter()
latencies = []  # per batch: a snapshot that holds the engine shows as a slow batch
for b in range(n // 1000):
    tb = time.perf_counter()
    body = "\n".join(json.dumps({"source": f"host-{b * 1000 + i}", "check": "cpu_high", "severity": "major",
                                 "description": "CPU above threshold", "time": 1795514400 + b}) for i in range(1000))
    conn.request("POST", "/api/v1/events", body)
    r = conn.getresponse(); r.read()
    assert r.status == 202, r.status
    latencies.append(time.perf_counter() - tb)
ingest = time.perf_counter() - t0
latencies.sort()
p.send_signal(signal.SIGKILL); p.wait()
had_snapshot = os.path.exists(os.path.join(data, "snapshot.json"))
size = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data))
p2, addr2, restart = start()
h2, port2 = addr2.split(":")
c2 = http.client.HTTPConnection(h2, int(port2)); c2.request("GET", "/healthz"); c2.getresponse().read()
p2.send_signal(signal.SIGKILL); p2.wait()
snap = "snapshot + journal tail" if had_snapshot else "whole journal, no snapshot yet"
shutil.rmtree(data)
print(f"{n} alerts ({snap} before the kill): HTTP ingest {n / ingest:,.0f} events/s (batches of 1,000, fsync on); "
      f"data dir {size / 1e6:.0f} MB; restart after SIGKILL {restart:.2f} s; "
      f"batch round trip p50 {latencies[len(latencies) // 2] * 1e3:.1f} ms, "
      f"p99 {latencies[len(latencies) * 99 // 100] * 1e3:.1f} ms, max {latencies[-1] * 1e3:.0f} ms")
