#!/usr/bin/env python3
"""Summarises one h2load run as a JSON line: throughput from h2load's own
report (stdin), latency percentiles from its --log-file (one line per
request: start time, HTTP status, duration in microseconds).

   h2load_summary.py LABEL LOGFILE CLIENTS STREAMS RPS_PER_CLIENT < h2load-output
"""
import json
import re
import sys

label, logfile, clients, streams, rps = sys.argv[1:6]
text = sys.stdin.read()
m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", text)
done = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", text)
durations, http_failed = [], 0
try:
    for line in open(logfile):
        parts = line.split()
        if len(parts) < 3:
            continue
        if parts[1] != "200":
            http_failed += 1
        durations.append(int(parts[2]))
except FileNotFoundError:
    pass
durations.sort()


def pct(p):
    if not durations:
        return 0.0
    return float(durations[min(len(durations) - 1, int(p * (len(durations) - 1) + 0.5))])


print(json.dumps({
    "label": label,
    "clients": int(clients),
    "streams": int(streams),
    "offered_rps": float(rps) * int(clients),
    "rps": float(m.group(3)) if m else 0.0,
    "requests": len(durations),
    "succeeded": int(done.group(4)) if done else 0,
    "failed": (int(done.group(5)) + int(done.group(6))) if done else 0,
    "http_failed": http_failed,
    "p50_us": pct(0.50), "p90_us": pct(0.90), "p99_us": pct(0.99), "p999_us": pct(0.999),
    "max_us": float(durations[-1]) if durations else 0.0,
}))
