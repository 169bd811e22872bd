# Sourced by the test drivers that run Node.js tools (interop, SARIF,
# manifests). npm_workdir WORK FILE...: copies FILEs (a package.json among
# them) into WORK and installs that package.json's dependencies there,
# unless every one of them is installed already.
npm_workdir() {
  local work="$1"
  shift
  mkdir -p "$work"
  cp "$@" "$work/"
  if ! node -e '
      const dir = process.argv[1];
      const deps = Object.keys(require(dir + "/package.json").dependencies || {});
      process.exit(deps.every((d) => require("fs").existsSync(`${dir}/node_modules/${d}/package.json`)) ? 0 : 1);
    ' "$work"; then
    (cd "$work" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}
