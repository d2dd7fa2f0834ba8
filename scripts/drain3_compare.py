#!/usr/bin/env python3
"""Drain3 (PyPI `drain3`, default config, no masking) on the same LogHub lines as
`sitrep templates`: grouping accuracy (GA, same definition) and lines/s (mining only,
single thread). Usage: scripts/drain3_compare.py [DATA_DIR] [ROUNDS]"""
import csv, sys, time, collections, logging, os

logging.disable(logging.CRITICAL)
from drain3 import TemplateMiner

data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/loghub2k"


def labelled(folder):
    """The labelled file of one system folder, as `sitrep templates` picks it."""
    names = sorted(os.listdir(folder))
    for suffix in ("_structured_corrected.csv", ".log_structured.csv"):
        for n in names:
            if n.endswith(suffix):
                return os.path.join(folder, n)
    return None


SYSTEMS = sorted(d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d)) and labelled(os.path.join(data, d)))
if not SYSTEMS:
    sys.exit(f"no labelled systems under {data}")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def ga(truth, pred):
    t_size = collections.Counter(truth)
    p_size = collections.Counter(pred)
    cell = collections.Counter(zip(truth, pred))
    ok = sum(1 for t, p in zip(truth, pred) if cell[(t, p)] == t_size[t] == p_size[p])
    return ok / len(truth)


print("| system | GA | lines/s |")
print("|---|---|---|")
gas, rates = [], []
for s in SYSTEMS:
    path = labelled(os.path.join(data, s))
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    lines = [r["Content"] for r in rows]
    truth = [r["EventId"] for r in rows]
    m = TemplateMiner()
    pred = [m.add_log_message(l)["cluster_id"] for l in lines]
    start = time.perf_counter()
    for _ in range(rounds):
        m2 = TemplateMiner()
        for l in lines:
            m2.add_log_message(l)
    rate = len(lines) * rounds / (time.perf_counter() - start)
    g = ga(truth, pred)
    gas.append(g)
    rates.append(rate)
    print(f"| {s} | {g:.3f} | {rate:.0f} |")
print(f"| **average** | **{sum(gas)/len(gas):.3f}** | {sum(rates)/len(rates):.0f} |")
