// Validates Harness pipeline YAML files against Harness's own v0 pipeline
// JSON schema (harness/harness-schema, v0/pipeline.json; see
// harness-schema/SOURCE.md) with ajv, an implementation nobody here wrote.
//   node validate_harness_schema.js SCHEMA_DIR FILE...
// Prints "OK FILE" or "INVALID FILE" and ajv's errors (at most 20) for each
// FILE; exits 1 if any FILE is invalid, 2 on a usage or schema load error.
'use strict';
const fs = require('fs');
const path = require('path');
// The schema's root names no $schema; its 1,476 subschemas that do say
// draft-07 (one says 2019-09, see below), so ajv's default draft-07 class.
const Ajv = require('ajv');
const YAML = require('yaml');

const [schemaDir, ...files] = process.argv.slice(2);
if (!schemaDir || files.length === 0) {
  console.error('usage: node validate_harness_schema.js SCHEMA_DIR FILE...');
  process.exit(2);
}

let validate;
try {
  const schema = JSON.parse(fs.readFileSync(path.join(schemaDir, 'pipeline.json'), 'utf8'));
  const ajv = new Ajv({
    allErrors: true,
    // strict: false: the schema uses keywords no JSON Schema draft defines
    // ("desc", "metadata", "internalType", "inputProperties", a string
    // "discriminator", a misspelt "additonalProperties") and definitions
    // nested beside keywords; strict mode refuses to compile it. Unknown
    // keywords are then ignored, as a draft-07 validator should.
    strict: false,
    // Every $ref in the file is local ("#/definitions/..."); nothing remote to map.
    // "int32" and "double" are OpenAPI formats, not JSON Schema ones; declared
    // here as formats that accept anything so that ajv neither warns nor
    // guesses (the "type" beside them is still checked).
    formats: {int32: true, double: true},
    // One subschema (FmeFlagDefinitionInstructionsStepInfo) says
    // "$schema": ".../draft/2019-09/schema"; ajv reads $schema at the root
    // only, so it is read as draft-07 like the rest (it uses no keyword that
    // only 2019-09 has).
  });
  // StepElementConfig's "type" is {"enum": []}: valid JSON Schema (no value
  // matches) that ajv's own "enum" refuses to compile ("enum must have
  // non-empty array"). The same keyword with the same meaning and message,
  // empty arrays allowed:
  const equal = require('ajv/dist/runtime/equal').default;
  ajv.removeKeyword('enum');
  ajv.addKeyword({
    keyword: 'enum',
    schemaType: 'array',
    errors: true,
    validate: function validateEnum(allowed, data) {
      if (allowed.some((v) => equal(v, data))) return true;
      validateEnum.errors = [{keyword: 'enum', params: {allowedValues: allowed},
                              message: 'must be equal to one of the allowed values'}];
      return false;
    },
  });
  // A few other subschemas are not JSON Schema at all, and ajv refuses to
  // compile them: "minLength": null (EmailStepInfo), "properties": null
  // (AzureFunctionServiceSpec), property schemas that are arrays
  // (UpdateGitOpsAppStepInfo, SshWinRm*Infrastructure's targetedHosts) or a
  // string (a "$schema" URI listed among K8sTrafficRoutingRuleHeadersSpec's
  // properties). A validator that accepts the schema can only read each as
  // "no constraint", and so does this copy in memory (the file is not
  // changed; see repairs() below, and SOURCE.md).
  const repaired = repairs(schema);
  if (process.env.HARNESS_SCHEMA_SHOW_REPAIRS) for (const r of repaired) console.error(`repaired in memory: ${r}`);
  validate = ajv.compile(schema);
} catch (e) {
  console.error(`cannot load the schema from ${schemaDir}: ${e.message}`);
  process.exit(2);
}

// Makes every subschema reachable from the root (through $refs too) one ajv
// compiles, reading each defect listed above as "no constraint". Returns the
// JSON pointers it changed.
function repairs(root) {
  const changed = [];
  const seen = new Set();
  const resolve = (ref) => ref.slice(2).split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((node, p) => node[p], root);
  const one = ['not', 'if', 'then', 'else', 'additionalProperties', 'items', 'contains',
               'propertyNames', 'additionalItems'];
  const list = ['allOf', 'anyOf', 'oneOf'];
  const map = ['properties', 'patternProperties', 'definitions'];
  const isSchema = (v) => typeof v === 'boolean' || (v !== null && typeof v === 'object' && !Array.isArray(v));
  (function walk(node, at) {
    if (!isSchema(node) || typeof node === 'boolean' || seen.has(node)) return;
    seen.add(node);
    if (node.minLength === null) { delete node.minLength; changed.push(`${at}/minLength`); }
    for (const k of map) {
      if (!(k in node)) continue;
      if (!isSchema(node[k]) || typeof node[k] === 'boolean') {
        delete node[k]; changed.push(`${at}/${k}`); continue;
      }
      for (const [name, sub] of Object.entries(node[k])) {
        if (!isSchema(sub)) { node[k][name] = true; changed.push(`${at}/${k}/${name}`); }
        else walk(sub, `${at}/${k}/${name}`);
      }
    }
    for (const k of list) if (Array.isArray(node[k])) node[k].forEach((s, i) => walk(s, `${at}/${k}/${i}`));
    for (const k of one) {
      if (Array.isArray(node[k])) node[k].forEach((s, i) => walk(s, `${at}/${k}/${i}`));
      else walk(node[k], `${at}/${k}`);
    }
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#/')) walk(resolve(node.$ref), node.$ref.slice(1));
  })(root, '');
  return changed;
}

let invalid = 0;
for (const file of files) {
  let doc;
  try {
    // YAML 1.2 (the yaml package's default), merge keys (<<) allowed as
    // Harness's parser allows them.
    doc = YAML.parse(fs.readFileSync(file, 'utf8'), {merge: true});
  } catch (e) {
    invalid++;
    console.log(`INVALID ${file}`);
    console.log(`  (not read or not YAML) ${e.message.split('\n')[0]}`);
    continue;
  }
  if (validate(doc)) {
    console.log(`OK ${file}`);
    continue;
  }
  invalid++;
  console.log(`INVALID ${file}`);
  // With oneOf, ajv reports every branch's failures, the same line many
  // times over: each distinct line once, in ajv's order.
  const lines = [...new Set(validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`))];
  for (const line of lines.slice(0, 20)) console.log(`  ${line}`);
  if (lines.length > 20) console.log(`  ... ${lines.length - 20} more`);
}
process.exit(invalid ? 1 : 0);
