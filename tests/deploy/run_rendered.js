// Runs buildgated the way each rendered manifest says (run by
// run_manifest_checks.sh): for every container whose image is buildgate, its
// exact args - with the pod's paths mapped into a scratch directory and its
// ports onto free loopback ports - then every probe the manifest declares
// (gRPC probes as `buildgate health`, exec probes as written), then SIGTERM,
// which must end it with exit 0 within the pod's terminationGracePeriodSeconds.
// The policy directory is filled from the rendered ConfigMap; /etc/buildgate/tls
// gets a CA, and a certificate for `buildgate` usable for server and client
// auth, as the production overlay documents.
//   node run_rendered.js BINARY_DIR WORK_DIR RENDERED.yaml...
"use strict";
const fs = require("fs");
const path = require("path");
const { spawn, spawnSync, execFileSync } = require("child_process");
const YAML = require("yaml");

const [bin, work, ...files] = process.argv.slice(2);
const cli = path.join(bin, "client", "buildgate");
const server = path.join(bin, "service", "buildgated");

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A CA and a certificate for DNS name `buildgate`, server and client auth.
function makeTls(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const run = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=buildgate test CA",
      "-keyout", "ca.key", "-out", "ca.crt");
  run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=buildgate", "-keyout", "tls.key", "-out", "tls.csr");
  fs.writeFileSync(path.join(dir, "ext.cnf"),
      "subjectAltName=DNS:buildgate\nextendedKeyUsage=serverAuth,clientAuth\n");
  run("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
      "-extfile", "ext.cnf", "-out", "tls.crt");
}

// The pod's paths -> the scratch directory.
function mapPath(text, root) {
  return text
    .replace(/\/etc\/buildgate\/policies/g, path.join(root, "policies"))
    .replace(/\/etc\/buildgate\/tls/g, path.join(root, "tls"))
    .replace(/\/var\/run\/buildgate/g, path.join(root, "run"))
    .replace(/^\/usr\/local\/bin\/buildgate$/, cli);
}

async function runContainer(file, pod, container, objects, root) {
  const where = `${path.basename(file)}: ${container.name}`;
  fs.mkdirSync(path.join(root, "run"), { recursive: true });
  fs.mkdirSync(path.join(root, "policies"), { recursive: true });
  for (const cm of objects.filter((o) => o.kind === "ConfigMap" && o.metadata.name === "buildgate-policies")) {
    for (const [name, text] of Object.entries(cm.data)) fs.writeFileSync(path.join(root, "policies", name), text);
  }
  makeTls(path.join(root, "tls"));
  const portFile = path.join(root, "port");
  const args = container.args.map((a) =>
    mapPath(a, root).replace(/^--listen=0\.0\.0\.0:50051$/, "--listen=127.0.0.1:0")
      .replace(/^--metrics_address=0\.0\.0\.0:9464$/, "--metrics_address=127.0.0.1:0"));
  args.push(`--port_file=${portFile}`);
  const stderr = fs.openSync(path.join(root, "stderr"), "w");
  const child = spawn(server, args, { stdio: ["ignore", "ignore", stderr] });
  let exited = null;
  child.on("exit", (code, signal) => { exited = { code, signal }; });
  for (let i = 0; i < 200 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, "utf8").includes("\n")); ++i) {
    await sleep(50);
  }
  const failures = [];
  const port = fs.existsSync(portFile) ? fs.readFileSync(portFile, "utf8").split("\n")[0] : "";
  if (port === "" || exited) {
    failures.push(`${where}: buildgated did not start with the manifest's args: ` +
                  fs.readFileSync(path.join(root, "stderr"), "utf8").slice(-600));
  } else {
    for (const probeName of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const probe = container[probeName];
      if (!probe) continue;
      let command;
      if (probe.grpc) {
        command = [cli, "health", `--server=127.0.0.1:${port}`];
      } else if (probe.exec) {
        command = probe.exec.command.map((a) => mapPath(a, root).replace("127.0.0.1:50051", `127.0.0.1:${port}`));
      } else {
        failures.push(`${where}: ${probeName} is neither grpc nor exec`);
        continue;
      }
      const r = spawnSync(command[0], command.slice(1), { encoding: "utf8", timeout: 1000 * (probe.timeoutSeconds || 1) });
      if (r.status !== 0) {
        failures.push(`${where}: ${probeName} failed (exit ${r.status}): ${command.join(" ")}: ${r.stdout}${r.stderr}`);
      }
    }
  }
  // Stop as the kubelet does; it must end well inside the grace period.
  const grace = (pod.terminationGracePeriodSeconds === undefined ? 30 : pod.terminationGracePeriodSeconds) * 1000;
  const start = Date.now();
  child.kill("SIGTERM");
  while (!exited && Date.now() - start < grace) await sleep(50);
  if (!exited) {
    child.kill("SIGKILL");
    failures.push(`${where}: still running ${grace / 1000}s after SIGTERM`);
  } else if (exited.code !== 0) {
    failures.push(`${where}: exit ${exited.code} ${exited.signal || ""} after SIGTERM`);
  }
  const stopped = ((Date.now() - start) / 1000).toFixed(1);
  console.log(failures.length ? `FAIL ${where}: ${failures.length} problem(s), below`
                              : `ok ${where}: started with the manifest's args, probes passed, ` +
                                `stopped in ${stopped}s of ${grace / 1000}s`);
  return failures;
}

async function main() {
  const failures = [];
  let n = 0;
  for (const file of files) {
    const objects = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
    for (const o of objects) {
      const pod = o.spec && o.spec.template && o.spec.template.spec;
      if (!pod) continue;
      for (const c of [...(pod.initContainers || []), ...(pod.containers || [])]) {
        if (!/^buildgate(:|$)/.test(c.image)) continue;
        const root = path.join(work, `${path.basename(file, ".yaml")}-${o.metadata.name}-${c.name}`);
        fs.rmSync(root, { recursive: true, force: true });
        failures.push(...(await runContainer(file, pod, c, objects, root)));
        ++n;
      }
    }
  }
  if (n === 0) failures.push("no buildgate container in the rendered manifests");
  for (const f of failures) console.log(`FAIL ${f}`);
  process.exit(failures.length ? 1 : 0);
}
main();
