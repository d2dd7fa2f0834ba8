#!/usr/bin/env python3
"""The naive baseline of a generated stream: alerts of one place (the `region` label, else
`cluster`, else `site`) form one group until a gap of more than 60 s between starts; scored
by pairwise precision / recall / F1 over alert occurrences, the unit `sitrep eval` uses
(a fault's occurrences are one true cluster, every noise occurrence a singleton).
Usage: scripts/baseline_place_gap.py DATA_DIR (events.jsonl and truth.json of `sitrep gen`)"""
import collections
import json
import sys


def pairs(n):
    return n * (n - 1) // 2


def main(d):
    truth = json.load(open(f"{d}/truth.json"))
    place = {}
    for line in open(f"{d}/events.jsonl"):
        e = json.loads(line)
        labels = e.get("labels", {})
        place[e.get("source")] = labels.get("region") or labels.get("cluster") or labels.get("site") or ""
    occurrences = sorted(
        (a["first_time"], a["signature"], a["occurrence"], a["fault"]) for a in truth["alerts"]
    )
    last, group, groups, pred = {}, {}, 0, []
    for t, sig, _, _ in occurrences:
        p = place.get(sig.split("::")[0], "")
        if p not in last or t - last[p] > 60_000:
            groups += 1
            group[p] = groups
        last[p] = t
        pred.append(group[p])
    true = [f if f is not None else ("noise", i) for i, (_, _, _, f) in enumerate(occurrences)]
    both = sum(pairs(n) for n in collections.Counter(zip(pred, true)).values())
    predicted = sum(pairs(n) for n in collections.Counter(pred).values())
    actual = sum(pairs(n) for n in collections.Counter(true).values())
    p = both / predicted if predicted else 0.0
    r = both / actual if actual else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(json.dumps({"precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3)}))


if __name__ == "__main__":
    main(sys.argv[1])
