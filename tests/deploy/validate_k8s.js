// Validates every object of rendered Kubernetes manifests against the
// Kubernetes OpenAPI schema with kubernetes-models' validate().
//   node validate_k8s.js FILE.yaml...
// Prints "ok FILE: N objects" or each error as "FILE: Kind/name: message";
// exits 1 if any object is invalid or of a kind it does not know.
"use strict";
const fs = require("fs");
const YAML = require("yaml");

let failed = false;
for (const file of process.argv.slice(2)) {
  let count = 0;
  let fileFailed = false;
  const fail = (message) => {
    console.log(message);
    fileFailed = failed = true;
  };
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) {
      fail(`${file}: YAML: ${doc.errors[0].message}`);
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;
    const where = `${file}: ${object.kind}/${object.metadata && object.metadata.name}`;
    let Model;
    try {
      Model = require(`kubernetes-models/${object.apiVersion}/${object.kind}`)[object.kind];
    } catch (e) {
      fail(`${where}: no schema for apiVersion ${object.apiVersion} kind ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
      ++count;
    } catch (e) {
      fail(`${where}: ${e.message}`);
    }
  }
  if (!fileFailed) console.log(`ok ${file}: ${count} objects`);
}
process.exit(failed ? 1 : 0);
