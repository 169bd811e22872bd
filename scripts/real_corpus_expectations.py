#!/usr/bin/env python3
"""Writes tests/pipelines/real/EXPECTED.yaml: what buildgate decides for each
build of the real corpus under each example policy, checked by the test
command (RealCorpus.EveryBuildAsExpected, tests/lint/real_corpus_test.cc).

Run it after a change that is meant to change decisions, then read the diff
of EXPECTED.yaml: every changed line is a decision that changed. It also
compares where each build runs with what the collector read from the files
by hand (BUILDS.json) and prints builds expected versus found.

  python3 scripts/real_corpus_expectations.py build/client/buildgate
"""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL = os.path.join(ROOT, "tests", "pipelines", "real")
INFRA = {  # BUILDS.json's words -> the API's
    "Cloud": "INFRASTRUCTURE_TYPE_HARNESS_CLOUD",
    "VM": "INFRASTRUCTURE_TYPE_VM",
    "KubernetesDirect": "INFRASTRUCTURE_TYPE_KUBERNETES",
    "Docker": "INFRASTRUCTURE_TYPE_LOCAL_DOCKER",
}


def lint(binary, policy):
    out = subprocess.run(
        [binary, "lint", "-o", "json", "--policy", policy,
         os.path.join(REAL, "pipelines"), os.path.join(REAL, "harness-folders")],
        capture_output=True, text=True, check=False)
    if out.returncode not in (0, 10, 20):
        sys.exit(f"lint under {policy} exited {out.returncode}: {out.stderr}")
    return json.loads(out.stdout)["files"]


def main():
    binary = sys.argv[1]
    policies = sorted(glob.glob(os.path.join(ROOT, "examples", "policies", "*")))
    builds = {}  # (file, line, column) -> entry
    for policy in policies:
        name = os.path.splitext(os.path.basename(policy))[0]
        for f in lint(binary, policy):
            rel = os.path.relpath(f["file"], REAL)
            for x in f.get("report", {}).get("findings", []):
                loc = x["location"]
                key = (rel, loc["line"], loc["column"])
                step = x.get("step", {})
                infra = step.get("infrastructure", {})
                entry = builds.setdefault(key, {
                    "file": rel, "line": loc["line"], "column": loc["column"],
                    "stage": x.get("stageId", ""), "step": x.get("stepId", ""),
                    "infrastructure": infra.get("type", "INFRASTRUCTURE_TYPE_UNSPECIFIED"),
                    "os": infra.get("os", "OPERATING_SYSTEM_UNSPECIFIED"),
                    "decisions": {}})
                entry["decisions"][name] = {
                    "verdict": x.get("verdict", "VERDICT_UNSPECIFIED"),
                    "rule": x.get("rule", "REASON_CODE_UNSPECIFIED"),
                    "builder": x.get("decision", {}).get("builder", "BUILDER_UNSPECIFIED")}
    collected = json.load(open(os.path.join(REAL, "BUILDS.json")))
    by_step = {(b["file"], b["stage"], b["step"]): b for b in collected}
    found, differ = 0, []
    for entry in builds.values():
        b = by_step.get((entry["file"], entry["stage"], entry["step"]))
        if b is None:
            continue
        found += 1
        if entry["infrastructure"] == "INFRASTRUCTURE_TYPE_UNSPECIFIED" and \
                b["type"].startswith("template"):
            continue  # A step template reference: its stage is not read for it.
        want = INFRA.get(b["infrastructure"])
        if want and want != entry["infrastructure"]:
            differ.append((entry["file"], entry["step"], want, entry["infrastructure"]))
    report = [f"builds the collector read: {len(collected)}; found by lint: {found}; "
              f"findings in all: {len(builds)}; infrastructure differing: {len(differ)}"]
    report += [f"  differs: {d}" for d in differ]
    for b in collected:
        if not any((e["file"], e["stage"], e["step"]) == (b["file"], b["stage"], b["step"])
                   for e in builds.values()):
            report.append(f"  not found: {b['file']} {b['stage']} {b['step']} "
                          f"{b['infrastructure']} {b['notes'][:80]}")
    with open(os.path.join(REAL, "EXPECTED.yaml"), "w") as out:
        out.write("# What buildgate decides for each finding of the real corpus under each\n"
                  "# example policy. Written by scripts/real_corpus_expectations.py, read by\n"
                  "# the test command (tests/lint/real_corpus_test.cc); every change to it is\n"
                  "# a decision that changed, to be read before it is committed.\n"
                  "# infrastructure and os: where the stage runs as buildgate read it; the\n"
                  "# test also holds them against BUILDS.json (the collector's reading).\n"
                  "builds:\n")
        for key in sorted(builds):
            e = builds[key]
            out.write(f"  - {{file: {json.dumps(e['file'])}, line: {e['line']}, "
                      f"column: {e['column']}, stage: {json.dumps(e['stage'])}, "
                      f"step: {json.dumps(e['step'])},\n"
                      f"     infrastructure: {e['infrastructure']}, os: {e['os']}}}\n")
            for name in sorted(e["decisions"]):
                d = e["decisions"][name]
                out.write(f"    # {name}: {d['verdict']} {d['rule']} {d['builder']}\n")
        # Decisions as data (the comments above are for reading diffs).
        out.write("decisions:\n")
        for key in sorted(builds):
            e = builds[key]
            for name in sorted(e["decisions"]):
                d = e["decisions"][name]
                out.write(f"  - [{json.dumps(e['file'])}, {e['line']}, {e['column']}, {name}, "
                          f"{d['verdict']}, {d['rule']}, {d['builder']}]\n")
    print("\n".join(report))  # After the file is written: a closed pipe loses nothing.


if __name__ == "__main__":
    main()
