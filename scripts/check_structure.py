#!/usr/bin/env python3
"""Checks the source tree's structure (docs/architecture.md), run by ctest as
structure.layers:

1. Layers: a library includes only its own headers and those of libraries in
   lower layers (common < input < grammar < catalog < engine < pipeline < lint <
   store < service, client). service and client are peers: neither includes the
   other.
2. Doors: `X/internal/` headers are included only from X/ and tests/X/.
3. Rooms: no library folder holds more than a fifth of the source lines
   (bench/ counted, tests/ not), with a little slack (MAX_SHARE).
4. Headers say what they are for: every library header opens with a comment.

Usage: check_structure.py SOURCE_ROOT. Prints every violation with its file
and line; exits 1 when there is one, 0 otherwise.
"""
import os
import re
import sys

LAYERS = {
    "common": 0,
    "input": 1,
    "grammar": 2,
    "catalog": 3,
    "engine": 4,
    "pipeline": 5,
    "lint": 6,
    "store": 7,
    "service": 8,
    "client": 8,
}
# Top-level folders that use the libraries and belong to none.
USERS = ("bench", "tests")
MAX_SHARE = 0.22
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE_SUFFIXES = (".h", ".cc")


def source_files(root, folder):
    for directory, _, names in os.walk(os.path.join(root, folder)):
        for name in sorted(names):
            if name.endswith(SOURCE_SUFFIXES):
                yield os.path.join(directory, name)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    violations = []
    lines_per_folder = {}

    for folder in list(LAYERS) + list(USERS):
        for path in source_files(root, folder):
            relative = os.path.relpath(path, root)
            with open(path, encoding="utf-8") as f:
                text = f.read().splitlines()
            if folder != "tests":
                lines_per_folder[folder] = lines_per_folder.get(folder, 0) + len(text)
            if folder in LAYERS and path.endswith(".h") and not text[0].startswith("//"):
                violations.append(f"{relative}:1: a library header opens with a comment saying what it is for")
            for number, line in enumerate(text, 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                included = match.group(1)
                parts = included.split("/")
                target = parts[0]
                if target not in LAYERS and target != "tests":
                    continue  # Generated protobuf headers, third-party libraries.
                where = f"{relative}:{number}: includes {included}"
                if target == "tests" and folder not in USERS:
                    violations.append(f"{where}: libraries never include tests/")
                    continue
                if len(parts) > 2 and parts[1] == "internal":
                    owner_test_folder = os.path.join("tests", target) + os.sep
                    if folder != target and not relative.startswith(owner_test_folder):
                        violations.append(f"{where}: {target}/internal/ is for {target}/ and tests/{target}/ only")
                if folder in LAYERS and target in LAYERS and target != folder:
                    if LAYERS[target] >= LAYERS[folder]:
                        violations.append(
                            f"{where}: {folder} (layer {LAYERS[folder]}) may include only lower layers, "
                            f"not {target} (layer {LAYERS[target]})")

    total = sum(lines_per_folder.values())
    for folder, count in sorted(lines_per_folder.items()):
        share = count / total if total else 0
        if share > MAX_SHARE:
            violations.append(f"{folder}/: {count} of {total} source lines ({share:.0%}); "
                              f"a folder holds at most about a fifth")

    for v in violations:
        print(v)
    print(f"check_structure: {len(violations)} violation(s); source lines per folder: " +
          ", ".join(f"{k} {v}" for k, v in sorted(lines_per_folder.items(), key=lambda kv: -kv[1])))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
