#!/usr/bin/env python3
"""A flood of new, unrelated alerts for the cost-per-alert benchmark (docs/performance.md,
"Open clusters and the cost of a new alert").

Every event is a new alert on a new host, critical, with words of its own (so it passes the
noise gate and seeds a pending cluster), sharing only values many open clusters hold:
`env = prod` and one data centre of four. At RATE alerts a second a minute's window holds
60 × RATE open clusters.

    python3 scripts/flood.py EVENTS RATE > flood.jsonl
    cargo run --release -p sitrep-core --example engine_only -- flood.jsonl
"""
import datetime
import json
import random
import sys

WORDS = ("disk link bgp ospf fan psu temp cpu mem queue latency tls cert dns ntp raid vlan "
         "lacp stp mpls ldap kafka redis nginx java gc heap thread socket pool").split()


def main():
    events, rate = int(sys.argv[1]), float(sys.argv[2])
    rng = random.Random(1)
    t0 = datetime.datetime(2026, 11, 24, tzinfo=datetime.timezone.utc)
    out = sys.stdout
    for i in range(events):
        t = t0 + datetime.timedelta(seconds=i / rate)
        a, b, c = rng.sample(WORDS, 3)
        out.write(json.dumps({
            "source": f"host-{rng.randrange(1_000_000):06d}.dc{i % 4}.example.net",
            "check": f"{a}_{b}",
            "severity": "critical",
            "description": f"{a} {b} {c} failure on unit {rng.randrange(100_000)} code {rng.randrange(1000)}",
            "time": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z",
            "labels": {"dc": f"dc{i % 4}", "env": "prod", "rack": f"r{rng.randrange(5000)}"},
            "id": f"f-{i}",
        }) + "\n")


if __name__ == "__main__":
    main()
