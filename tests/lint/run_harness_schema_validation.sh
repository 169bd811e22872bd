#!/usr/bin/env bash
# Harness schema check: does `buildgate lint --fix` leave pipelines that
# Harness itself accepts? Each pipeline document of the corpus that Harness's
# v0 pipeline JSON schema accepts as written is fixed under each policy (a
# copy, with `lint --fix --write`), and every fixed file is validated against
# the same schema with ajv (npm, installed into the build tree).
#   run_harness_schema_validation.sh [--report-only] SOURCE_DIR BINARY_DIR
# --report-only (or HARNESS_SCHEMA_REPORT_ONLY=1): print everything, exit 0
# whatever the fixed files are. Otherwise exits 1 if a fixed file is invalid,
# or if the documents the schema rejects as input are not exactly those
# listed in harness-schema/rejected-inputs.txt; 77 (ctest's skip) if the
# schema file is absent (see harness-schema/SOURCE.md).
set -euo pipefail
report_only="${HARNESS_SCHEMA_REPORT_ONLY:-0}"
if [ "${1:-}" = --report-only ]; then report_only=1; shift; fi
if [ $# -ne 2 ]; then
  echo "usage: $0 [--report-only] SOURCE_DIR BINARY_DIR" >&2
  exit 2
fi
src="$1"
bin="$2"
here="$src/tests/lint"
schema_dir="${HARNESS_SCHEMA_DIR:-$here/harness-schema}"
if [ ! -s "$schema_dir/pipeline.json" ]; then
  # Not in the repository (no licence to redistribute it, SOURCE.md): fetched
  # as Harness's README tells editors to, from the commit SOURCE.md names,
  # and held to its SHA-256 below. No network: skipped, and said so.
  commit=1bb19b672ae159df9a52b63aae3e93dff6eb1825
  url="${HARNESS_SCHEMA_URL:-https://raw.githubusercontent.com/harness/harness-schema/$commit/v0/pipeline.json}"
  schema_dir="$bin/harness-schema-download"
  mkdir -p "$schema_dir"
  if ! curl -fsSL --max-time 120 --retry 2 -o "$schema_dir/pipeline.json.part" "$url"; then
    echo "SKIPPED: no $here/harness-schema/pipeline.json and $url cannot be fetched (see $here/harness-schema/SOURCE.md)" >&2
    exit 77
  fi
  mv "$schema_dir/pipeline.json.part" "$schema_dir/pipeline.json"
fi
(cd "$schema_dir" && sha256sum --quiet -c "$here/harness-schema/pipeline.json.sha256") || {
  echo "$schema_dir/pipeline.json is not the file SOURCE.md names" >&2
  exit 2
}
work="$bin/harness-schema"
. "$src/tests/testing/npm_workdir.sh"
npm_workdir "$work" "$here/harness-schema/package.json" "$here/validate_harness_schema.js"
validate() { node "$work/validate_harness_schema.js" "$schema_dir" "$@"; }
# A document's name in the lists and copies: its path under tests/pipelines
# with '/' as '__' (documents/x.yaml, real/harness-folders/o__r/.harness/y.yaml).
doc_name() { local rel="${1#"$src"/tests/pipelines/}"; echo "${rel//\//__}"; }

# 1. Which documents does Harness's schema accept as written?
docs=()
for f in "$src"/tests/pipelines/documents/*; do
  [ -f "$f" ] && docs+=("$f")
done
# The real corpus: public pipelines and whole .harness folders, verbatim.
while IFS= read -r -d '' f; do
  docs+=("$f")
done < <(find "$src/tests/pipelines/real/pipelines" "$src/tests/pipelines/real/harness-folders" \
           -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 | sort -z)
validate "${docs[@]}" > "$work/inputs.txt" || [ $? -eq 1 ]
accepted=()
rejected=()
real_rejected=0
while read -r verdict file; do
  case "$verdict" in
    OK) accepted+=("$file") ;;
    INVALID)
      # Real files the schema rejects (input sets, templates, triggers, and
      # pipelines Harness's own schema does not accept) are counted; ours
      # must each be listed with why.
      case "$(doc_name "$file")" in
        real__*) real_rejected=$((real_rejected + 1)) ;;
        *) rejected+=("$(doc_name "$file")") ;;
      esac ;;
  esac
done < <(grep -E '^(OK|INVALID) ' "$work/inputs.txt")
# Every rejection must be a known, explained one (and no explanation stale).
listed="$(grep -v -E '^(#|$)' "$here/harness-schema/rejected-inputs.txt" | cut -f1 | sort)"
actual="$(printf '%s\n' "${rejected[@]}" | sort)"
inputs_ok=1
if [ "$listed" != "$actual" ]; then
  inputs_ok=0
  echo "Documents the schema rejects as input differ from harness-schema/rejected-inputs.txt:" >&2
  diff <(echo "$listed") <(echo "$actual") | grep -E '^[<>]' | sed 's/^</  listed, but accepted or gone:/; s/^>/  rejected, not listed:/' >&2 || true
  awk '/^INVALID/{p=1} /^OK/{p=0} p' "$work/inputs.txt" >&2
fi

# 2. Fix each accepted document under each policy; keep the files that changed.
rm -rf "$work/fixed"
fixed=()
unchanged=0
lint_errors=0
for policy in "$src"/examples/policies/*.yaml "$src"/tests/pipelines/policies/*.yaml; do
  pname="$(basename "$policy" .yaml)"
  mkdir -p "$work/fixed/$pname"
  for doc in "${accepted[@]}"; do
    copy="$work/fixed/$pname/$(doc_name "$doc")"
    cp "$doc" "$copy"
    # Exit codes 10/20 (findings left) are expected; 2 and others are errors.
    rc=0
    "$bin/client/buildgate" lint --fix --write -o json --policy "$policy" "$copy" \
      > "$copy.lint.json" 2> "$copy.lint.err" || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 10 ] && [ "$rc" -ne 20 ]; then
      lint_errors=$((lint_errors + 1))
      echo "lint --fix --write failed ($rc): $pname $(basename "$doc"): $(head -c 300 "$copy.lint.err")" >&2
    fi
    if cmp -s "$doc" "$copy"; then
      unchanged=$((unchanged + 1))
    else
      fixed+=("$copy")
    fi
  done
done

# 3. Validate every fixed file.
valid=0
invalid=0
if [ ${#fixed[@]} -gt 0 ]; then
  validate "${fixed[@]}" > "$work/fixed.txt" || [ $? -eq 1 ]
  valid=$(grep -c '^OK ' "$work/fixed.txt" || true)
  invalid=$(grep -c '^INVALID ' "$work/fixed.txt" || true)
  awk '/^INVALID/{p=1} /^OK/{p=0} p' "$work/fixed.txt"
fi

# 4. The check can fail: a fixed file with a bad pipeline identifier is refused.
if [ ${#fixed[@]} -gt 0 ]; then
  sed '0,/^\(\s*\)identifier: .*/s//\1identifier: "1 not an identifier"/' "${fixed[0]}" > "$work/broken.yaml"
  if validate "$work/broken.yaml" > /dev/null; then
    echo "the validator accepted a pipeline whose identifier is \"1 not an identifier\"" >&2
    exit 1
  fi
fi

echo "Input documents: ${#docs[@]}: ${#accepted[@]} accepted by Harness's schema, ${#rejected[@]} of ours rejected (listed in harness-schema/rejected-inputs.txt: $([ $inputs_ok = 1 ] && echo yes || echo NO)), $real_rejected real files rejected (not pipelines Harness accepts)"
echo "Fixes: ${#fixed[@]} fixed files, $unchanged document/policy pairs unchanged, $lint_errors lint errors"
echo "Fixed files: $valid valid, $invalid invalid"
if [ "$report_only" = 1 ]; then exit 0; fi
[ "$invalid" -eq 0 ] && [ "$inputs_ok" = 1 ] && [ "$lint_errors" -eq 0 ]
