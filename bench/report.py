#!/usr/bin/env python3
"""Turns one run_benchmarks.sh run into report.md, report.json and the data
for the latency plot. Every figure beside its baseline from the same run,
and every goal from the issue with the measured value and the ratio.

   report.py RESULTS_DIR [--smoke]
"""
import json
import os
import sys

out = sys.argv[1]
smoke = "--smoke" in sys.argv


def load(name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


def lines(name):
    with open(os.path.join(out, name)) as f:
        return [json.loads(l) for l in f if l.strip()]


# Each benchmark's median over its repetitions (a single run: the run).
engine = {}
for b in load("engine.json")["benchmarks"]:
    if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
        continue
    engine[b.get("run_name", b["name"])] = b
transport = {r["label"]: r for r in lines("transport.jsonl")}
VIEWS = ("full", "basic")
# Saturation ran in alternating rounds: keep the round with the median rps.
for server in ("echo", "buildgated"):
    for view in VIEWS:
        rounds = sorted((r for k, r in transport.items() if k.startswith(f"{server}.{view}.saturated.r")),
                        key=lambda r: r["rps"])
        if rounds:
            transport[f"{server}.{view}.saturated"] = dict(
                rounds[len(rounds) // 2], label=f"{server}.{view}.saturated", rounds=[r["rps"] for r in rounds])
corpus = lines("corpus_status.json")
batch = lines("batch.jsonl")
sets_server = lines("sets.jsonl")
grpc_status = load("grpc_status.json")
cedar = load("cedar.json")
instructions = {r["label"]: r for r in lines("instructions.jsonl")}
foot = load("footprint.json")


def bench(name, key="real_time"):
    b = engine.get(name)
    return b[key] if b and key in b else float("nan")


def ips(name):
    return bench(name, "items_per_second")


def ratio(a, b):
    return a / b if b else float("nan")


# Google Benchmark reports a threaded run's time as wall time per iteration
# over all threads, and its items_per_second per thread: scaling is the
# ratio of wall times.
scaling = bench("BM_DecideAllow/threads:1") / bench("BM_DecideAllow/threads:2")
sets_1, sets_100k = ips("BM_DecideAcrossSets/1"), ips("BM_DecideAcrossSets/100000")


def server_goals(view, target):
    e, b = transport.get(f"echo.{view}.saturated"), transport.get(f"buildgated.{view}.saturated")
    sat = ratio(b["rps"], e["rps"]) if e and b else float("nan")
    eh, bh = transport.get(f"echo.{view}.offered.0.5"), transport.get(f"buildgated.{view}.offered.0.5")
    p99 = ratio(bh["p99_us"], eh["p99_us"]) if eh and bh else float("nan")
    name = view.upper()
    return [
        (f"server saturated throughput / echo, {name} view (same response size)", sat, f">= {target:.2f}",
         sat >= target),
        (f"server p99 / echo p99 at 50% of echo saturation, {name} view", p99, "<= 1.25", p99 <= 1.25),
    ]


goals = server_goals("basic", 0.90) + server_goals("full", 0.75) + [
    ("engine ns per allow decision, BASIC, memoized shape", bench("BM_DecideAllowBasic"), "<= 300 ns",
     bench("BM_DecideAllowBasic") <= 300),
    ("engine ns per allow decision, FULL", bench("BM_DecideAllow/threads:1"), "<= 1000 ns",
     bench("BM_DecideAllow/threads:1") <= 1000),
    ("engine ns per deny with remediations, memoized", bench("BM_DecideDenyWithRemediations"), "<= 5000 ns",
     bench("BM_DecideDenyWithRemediations") <= 5000),
    ("engine 2-thread scaling", scaling, ">= 1.8x", scaling >= 1.8),
    ("engine throughput, 100k sets vs 1 set", sets_100k / sets_1, ">= 0.85", sets_100k / sets_1 >= 0.85),
    ("idle RSS (MB)", foot["idle_rss_kb"] / 1024, "<= 20 MB", foot["idle_rss_kb"] <= 20 * 1024),
    (f"RSS with {foot['primed_sets']} cached sets (MB)", foot["primed_rss_kb"] / 1024, "<= 150 MB",
     foot["primed_rss_kb"] <= 150 * 1024),
    ("start to SERVING, 1 policy file (ms)", foot["serving_ms_1_file"], "<= 100 ms", foot["serving_ms_1_file"] <= 100),
    (f"start to SERVING, {foot['policy_files_many']} policy files (ms)", foot["serving_ms_many_files"], "<= 2000 ms",
     foot["serving_ms_many_files"] <= 2000),
]

non_ok = {r["label"]: r["non_ok"] for r in corpus}
report = {
    "smoke": smoke,
    "engine": {k: {"real_time_ns": v.get("real_time"), "items_per_second": v.get("items_per_second"),
                   "allocs_per_op": v.get("allocs_per_op")} for k, v in engine.items()},
    "instructions_per_call": {k: v["instructions_per_call"] for k, v in instructions.items()},
    "transport": transport,
    "corpus_status": corpus,
    "batch": batch,
    "sets_server": sets_server,
    "grpc_status": grpc_status,
    "cedar": {k: v for k, v in cedar.items() if k != "disagreements"} | {"disagreements": len(cedar["disagreements"])},
    "footprint": foot,
    "goals": [{"goal": g, "measured": m, "target": t, "met": ok} for g, m, t, ok in goals],
}
with open(os.path.join(out, "report.json"), "w") as f:
    json.dump(report, f, indent=2)

# Plot data: offered load sweep.
rows = []
for label, r in transport.items():
    if label.startswith("echo.full.offered."):
        f = label.split("echo.full.offered.")[1]
        b = transport.get(f"buildgated.full.offered.{f}")
        if b:
            rows.append((r["offered_rps"], r["p50_us"], r["p99_us"], b["p50_us"], b["p99_us"]))
with open(os.path.join(out, "latency.dat"), "w") as f:
    for row in sorted(rows):
        f.write(" ".join(f"{x:.1f}" for x in row) + "\n")


def fmt(x, d=1):
    return f"{x:,.{d}f}" if isinstance(x, (int, float)) else str(x)


md = []
md.append(f"# buildgate performance report{' (smoke run: durations too short to mean anything)' if smoke else ''}\n")
md.append("All figures from one invocation of `bench/run_benchmarks.sh` on this machine "
          f"({os.cpu_count()} cores); each comparison ran side by side in the same run.\n")
md.append("## Goals\n\n| goal | measured | target | met |\n|---|---|---|---|")
for g, m, t, ok in goals:
    md.append(f"| {g} | {fmt(m, 2)} | {t} | {'yes' if ok else 'NO'} |")
md.append("\n## Engine (Google Benchmark)\n\nThreaded rows: ns/op is wall time per operation over all threads; "
          "ops/s is per thread.\n\n| benchmark | ns/op (wall) | ops/s | allocs/op |\n|---|---|---|---|")
for name, b in engine.items():
    md.append(f"| {name} | {fmt(b.get('real_time', 0))} | {fmt(b.get('items_per_second', 0), 0)} | "
              f"{fmt(b.get('allocs_per_op', 0), 2)} |")
# What each count of run_benchmarks.sh is (which benchmark it profiled
# comes with the count).
INSTRUCTION_ROWS = {
    "allow_basic": "allow, BASIC, memoized shape",
    "allow_full": "allow, FULL, memoized shape",
    "allow_full_fresh": "allow, FULL, fresh (no memo)",
    "deny_basic": "deny, BASIC, memoized shape",
    "deny_full": "deny with remediations, FULL, memoized shape",
    "deny_full_fresh": "deny with remediations, FULL, fresh",
    "decision_log_line": "one decision log line (728 bytes)",
}
md.append("\n## Instructions per call (callgrind)\n")
md.append("Counted, not timed: the same code gives the same count on a busy or an idle machine, so these "
          "rows compare runs on different days; the ns column is this run's time and moves with the machine.\n")
md.append("| call | instructions | ns (this run) | ns per 1,000 instructions |\n|---|---|---|---|")
for label, r in instructions.items():
    n, ns = r["instructions_per_call"], bench(r.get("benchmark", ""))
    md.append(f"| {INSTRUCTION_ROWS.get(label, label)} | {fmt(n, 0)} | {fmt(ns)} | {fmt(ratio(ns * 1000, n), 0)} |")
md.append("\n## Server against the transport ceiling (h2load, same request frame, same response size)\n")
md.append("Each view's echo server answers with a response of the size buildgated's answer in that view has. "
          "Saturation: 8 connections x 32 streams, median of the alternating rounds (all rounds listed).\n")
md.append("| view | run | echo req/s | buildgated req/s | ratio | echo p50 / p99 µs | buildgated p50 / p99 µs | p99 ratio |")
md.append("|---|---|---|---|---|---|---|---|")
for view in VIEWS:
    offered = sorted({l.split(f"echo.{view}.offered.")[1] for l in transport if l.startswith(f"echo.{view}.offered.")},
                     key=float)
    for key in ["saturated"] + [f"saturated.r{i}" for i in range(1, 10)] + ["one_in_flight"] + [
            f"offered.{f}" for f in offered]:
        e, b = transport.get(f"echo.{view}.{key}"), transport.get(f"buildgated.{view}.{key}")
        if not e or not b:
            continue
        p99r = ratio(b["p99_us"], e["p99_us"])
        rate = f" (offered {fmt(e['offered_rps'], 0)}/s)" if e["offered_rps"] else ""
        md.append(f"| {view.upper()} | {key}{rate} | {fmt(e['rps'], 0)} | {fmt(b['rps'], 0)} | "
                  f"{fmt(ratio(b['rps'], e['rps']), 2)} | {fmt(e['p50_us'], 0)} / {fmt(e['p99_us'], 0)} | "
                  f"{fmt(b['p50_us'], 0)} / {fmt(b['p99_us'], 0)} | {fmt(p99r, 2)} |")
md.append(f"\nNon-OK grpc-status: buildgated counted {grpc_status['buildgated_rpc_errors_during_h2load']} refused "
          "calls during the h2load runs (its `grpc_server_handled_total` with a code other than OK); over the whole "
          f"scenario corpus with our own client, which reads every call's status: {non_ok}. h2load HTTP failures: "
          f"{sum(r['failed'] + r['http_failed'] for r in transport.values() if 'failed' in r)}.\n")
md.append("![latency against offered load (FULL view)](latency.png)\n")
md.append("## Cost as the batch grows (DecideBatch, our load client, 8 calls in flight)\n")
md.append("Batch 0 is one Decide per call. Each call carries one scenario's step N times (distinct step ids) "
          "under its stored policy, cycling through the corpus.\n")
md.append("| view | steps per call | calls/s | decisions/s | µs per decision (1/throughput) | p50 / p99 per call µs | non-OK |")
md.append("|---|---|---|---|---|---|---|")
for r in batch:
    md.append(f"| {r['view'].upper()} | {r['decisions_per_call'] if r['label'].split('.')[-1] != '0' else '1 (Decide)'} | "
              f"{fmt(r['throughput_rps'], 0)} | {fmt(r['decisions_per_s'], 0)} | "
              f"{fmt(ratio(1e6, r['decisions_per_s']), 2)} | {fmt(r['p50_us'], 0)} / {fmt(r['p99_us'], 0)} | "
              f"{r['non_ok']} |")
md.append("\n## Cost as the cached sets grow (engine)\n")
md.append("| sets cycled through | ns per decision | vs 1 set (throughput) |\n|---|---|---|")
for n in ("1", "1000", "100000"):
    name = f"BM_DecideAcrossSets/{n}"
    md.append(f"| {int(n):,} | {fmt(bench(name))} | {fmt(ratio(ips(name), sets_1), 2)} |")
md.append("\nThrough the server (inline policies, BASIC view, no decision log, 8 calls in flight; the cache holds all "
          f"{foot['primed_sets']:,} primed sets, the calls cycle through the first N of them):\n")
md.append("| sets in use | decisions/s | µs per decision (1/throughput) | p50 / p99 µs | vs 1 set | non-OK |")
md.append("|---|---|---|---|---|---|")
base = next((r["decisions_per_s"] for r in sets_server if r["label"] == "sets.1"), float("nan"))
for r in sets_server:
    md.append(f"| {int(r['label'].split('.')[1]):,} | {fmt(r['decisions_per_s'], 0)} | "
              f"{fmt(ratio(1e6, r['decisions_per_s']), 2)} | {fmt(r['p50_us'], 0)} / {fmt(r['p99_us'], 0)} | "
              f"{fmt(ratio(r['decisions_per_s'], base), 2)} | {r['non_ok']} |")
md.append("\n## Peer engine: Cedar (@cedar-policy/cedar-wasm " + cedar["cedar_version"] + ", Node)\n")
md.append("Cedar is used the fastest way its package allows (policies parsed once, `statefulIsAuthorized`, "
          "every call object built once and reused; a builder's run profiles stop at the first allow).\n")
md.append("| question | Cedar µs | Cedar calls | buildgate µs (memoized) | buildgate µs (fresh) | ratio (memoized) |")
md.append("|---|---|---|---|---|---|")
md.append(f"| full decision (buildgate: builder, settings, explanation, remediations) | "
          f"{fmt(cedar['cedar_ns_per_decision'] / 1000, 1)} | {fmt(cedar['calls_per_decision'], 1)} | "
          f"{fmt(cedar['engine_ns_per_decision'] / 1000, 2)} | {fmt(cedar['engine_ns_per_decision_fresh'] / 1000, 2)} | "
          f"{fmt(cedar['speed_ratio'], 0)}x |")
md.append(f"| is builder X admissible for this step? (allow/deny only) | "
          f"{fmt(cedar['cedar_ns_per_question'] / 1000, 1)} | {fmt(cedar['cedar_calls_per_question'], 1)} | "
          f"{fmt(cedar['engine_ns_per_question'] / 1000, 2)} | {fmt(cedar['engine_ns_per_question_fresh'] / 1000, 2)} | "
          f"{fmt(cedar['question_speed_ratio'], 0)}x |")
md.append(f"\n- Scenarios: {cedar['scenarios']} (the decision corpus); {cedar['questions']} questions "
          "(scenario x builder).")
md.append(f"- Agreement: {cedar['agreement_checks']} scenario x builder checks, "
          f"{len(cedar['disagreements'])} disagreements.")
for d in cedar["disagreements"][:20]:
    md.append(f"  - {d['scenario']} {d['builder']}: buildgate {d['buildgate']}, cedar {d['cedar']}")
md.append("\n## Footprint\n")
# Runs before 2026-12-02 did not record the anonymous part.
anon = (f", of it {fmt(foot['idle_anon_kb'] / 1024)} MB anonymous (the process's own memory; the rest is pages of "
        "the binary and its shared libraries, read from files and shareable)") if "idle_anon_kb" in foot else ""
md.append(f"- Idle RSS: {fmt(foot['idle_rss_kb'] / 1024)} MB{anon}. With {foot['primed_sets']} cached inline policy "
          f"sets: {fmt(foot['primed_rss_kb'] / 1024)} MB.")
md.append(f"- Start to SERVING: {foot['serving_ms_1_file']} ms with 1 policy file, "
          f"{foot['serving_ms_many_files']} ms with {foot['policy_files_many']} files.")
with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(md) + "\n")
print(os.path.join(out, "report.md"))
