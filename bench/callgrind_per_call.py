#!/usr/bin/env python3
"""Instructions per call of one function, from a callgrind profile of a whole
run (no --toggle-collect): the function's inclusive cost summed over every
call site, divided by its calls. Prints one JSON line.

   callgrind_per_call.py CALLGRIND_OUT FUNCTION_PREFIX LABEL [BENCHMARK]

BENCHMARK (the Google Benchmark run profiled) is carried into the line, so
the report can set each count beside the same benchmark's time.
"""
import json
import re
import sys

path, prefix, label = sys.argv[1:4]
benchmark = sys.argv[4] if len(sys.argv) > 4 else None
lines = open(path).read().split("\n")
ids = set()
for line in lines:
    m = re.match(r"c?fn=\((\d+)\) (.*)", line)
    # The function itself, not a lambda or local class inside it
    # ("f(...)::{lambda...}"), whose calls would be counted as its own.
    if m and m.group(2).startswith(prefix) and ")::" not in m.group(2):
        ids.add(m.group(1))
if not ids:
    sys.exit(f"callgrind_per_call: no function {prefix!r} in {path}")
calls = cost = 0
for i, line in enumerate(lines):
    m = re.match(r"cfn=\((\d+)\)", line)
    if m and m.group(1) in ids and lines[i + 1].startswith("calls="):
        calls += int(lines[i + 1].split()[0][len("calls="):])
        cost += int(lines[i + 2].split()[1])  # "<position> <inclusive Ir>"
if calls == 0:
    sys.exit(f"callgrind_per_call: {prefix!r} was never called in {path}")
line = {"label": label, "function": prefix, "calls": calls, "instructions_per_call": cost // calls}
if benchmark:
    line["benchmark"] = benchmark
print(json.dumps(line))
