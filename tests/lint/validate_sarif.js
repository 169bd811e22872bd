// Validates SARIF files against the OASIS SARIF 2.1.0 JSON schema (the
// schema Microsoft ships in @microsoft/jest-sarif) with ajv, an
// implementation nobody here wrote.  node validate_sarif.js SCHEMA FILE...
'use strict';
const fs = require('fs');
// The SARIF schema is JSON Schema draft-04.
const Ajv = require('ajv-draft-04');
const addFormats = require('ajv-formats');

const [schemaPath, ...files] = process.argv.slice(2);
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
// unicodeRegExp: false: the schema's `language` pattern has a stray ']'
// that only a non-unicode RegExp accepts.
const ajv = new Ajv({allErrors: true, strict: false, unicodeRegExp: false});
addFormats(ajv);
const validate = ajv.compile(schema);
let failed = 0;
for (const file of files) {
  const log = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!validate(log)) {
    failed++;
    console.error(`${file}: not valid SARIF 2.1.0:`);
    for (const e of validate.errors.slice(0, 20)) console.error(`  ${e.instancePath} ${e.message}`);
    continue;
  }
  const results = log.runs[0].results.length;
  if (results === 0) {
    failed++;
    console.error(`${file}: no results: the check would prove nothing`);
    continue;
  }
  console.log(`${file}: valid SARIF 2.1.0, ${results} results, ${log.runs[0].tool.driver.rules.length} rules`);
}
process.exit(failed ? 1 : 0);
