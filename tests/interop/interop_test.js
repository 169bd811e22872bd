// Interop test: @grpc/grpc-js with @grpc/proto-loader, a gRPC stack nobody
// here wrote, calls a running buildgated and checks the answers.
//   node interop_test.js ADDRESS PROTO_DIR
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');  // @grpc/proto-loader's own dependency.

const [address, protoDir] = process.argv.slice(2);
const options = {keepCase: false, longs: String, enums: String, defaults: false, oneofs: true,
                 includeDirs: [protoDir, __dirname]};
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(
    ['buildgate/v1/service.proto', 'grpc/health/v1/health.proto', 'reflection.proto'], options));
const creds = grpc.credentials.createInsecure();
const buildgate = new pkg.buildgate.v1.BuildGateService(address, creds);
const health = new pkg.grpc.health.v1.Health(address, creds);
const reflection = new pkg.grpc.reflection.v1alpha.ServerReflection(address, creds);

const call = (client, method, request) => new Promise((resolve) => {
  client[method](request, {deadline: Date.now() + 5000}, (err, response) => resolve({err, response}));
});

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push([name, true]);
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

const ecrStep = {kind: 'STEP_KIND_BUILD_AND_PUSH_ECR', registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
                 repo: 'acme/api', stepId: 'push', credentials: {username: 'bot', password: '<+secrets.getValue("ecr")>'}};

(async () => {
  await check('health is SERVING', async () => {
    const {err, response} = await call(health, 'Check', {service: ''});
    assert.equal(err, null);
    assert.equal(response.status, 'SERVING');
  });
  await check('decide with a stored policy set', async () => {
    const {err, response} = await call(buildgate, 'Decide', {policy: {orgId: 'acme'}, step: ecrStep});
    assert.equal(err, null, err && err.details);
    const d = response.decision;
    assert.equal(d.verdict, 'VERDICT_ALLOW_WITH_CHANGES');
    assert.equal(d.builder, 'BUILDER_BUILDAH');
    assert.equal(d.image, 'plugins/buildah-ecr:1.1.0-linux-amd64');
    assert.equal(d.privileged, true);
    assert.equal(d.runAsUser, '1000');
    assert.ok(d.stepYaml.includes('type: Plugin'));
    assert.ok(response.decisionId.length > 0);
  });
  let fingerprint = '';
  await check('decide with an inline policy, then by fingerprint', async () => {
    const inline = {orgId: 'globex', policy: {root: 'ROOT_FORBIDDEN', privileged: 'PRIVILEGED_FORBIDDEN',
                    platform: 'PLATFORM_OPENSHIFT', openshiftSccs: ['SCC_ANYUID']}};
    const step = {kind: 'STEP_KIND_PLUGIN', image: 'plugins/buildah-docker:1.1.0-linux-amd64', repo: 'globex/app',
                  privileged: true, runAsUser: '1000'};
    const first = await call(buildgate, 'Decide', {policy: {inlinePolicy: inline}, step});
    assert.equal(first.err, null, first.err && first.err.details);
    assert.equal(first.response.decision.privileged, false);
    assert.equal(first.response.decision.verdict, 'VERDICT_ALLOW_WITH_CHANGES');
    fingerprint = first.response.decision.policyFingerprint;
    assert.equal(fingerprint.length, 64);
    const second = await call(buildgate, 'Decide', {policy: {policyFingerprint: fingerprint}, step});
    assert.equal(second.err, null);
    assert.deepEqual(second.response.decision, first.response.decision);
  });
  await check('unknown fingerprint is FAILED_PRECONDITION', async () => {
    const {err} = await call(buildgate, 'Decide', {policy: {policyFingerprint: 'f'.repeat(64)}, step: ecrStep});
    assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
  });
  await check('invalid step is INVALID_ARGUMENT naming the field', async () => {
    const {err, response} = await call(buildgate, 'Decide', {policy: {orgId: 'acme'}, step: {repo: 'a/b'}});
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.ok(err.details.startsWith('step.kind'), err.details);
    assert.equal(response, undefined);
    // The standard rich-error details, decoded with protobufjs (a library
    // nobody here wrote): google.rpc.Status holding a google.rpc.BadRequest.
    const bin = err.metadata.get('grpc-status-details-bin');
    assert.equal(bin.length, 1, 'grpc-status-details-bin trailer');
    const rpc = protobuf.loadSync([path.join(protoDir, 'google/rpc/status.proto'),
                                   path.join(protoDir, 'google/rpc/error_details.proto')]);
    const status = rpc.lookupType('google.rpc.Status').decode(bin[0]);
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(status.details[0].type_url, 'type.googleapis.com/google.rpc.BadRequest');
    const bad = rpc.lookupType('google.rpc.BadRequest').decode(status.details[0].value);
    assert.equal(bad.fieldViolations[0].field, 'step.kind');
  });
  await check('batch', async () => {
    const {err, response} = await call(buildgate, 'DecideBatch',
        {policy: {orgId: 'acme'}, steps: [ecrStep, {...ecrStep, projectId: 'payments'}]});
    assert.equal(err, null);
    assert.equal(response.results.length, 2);
    assert.equal(response.results[1].decision.verdict, 'VERDICT_DENY');
    assert.ok(response.results[1].decision.remediations.length > 0);
  });
  await check('list policy sets', async () => {
    const {err, response} = await call(buildgate, 'ListPolicySets', {});
    assert.equal(err, null);
    const orgs = response.policySets.map((s) => s.orgId);
    assert.ok(orgs.includes('acme') && orgs.includes('globex'), orgs.join(','));
  });
  await check('server reflection lists the service', async () => {
    const names = await new Promise((resolve, reject) => {
      const stream = reflection.ServerReflectionInfo();
      stream.on('data', (r) => {
        resolve(r.listServicesResponse.service.map((s) => s.name));
        stream.end();
      });
      stream.on('error', reject);
      stream.write({host: '', listServices: ''});
    });
    assert.ok(names.includes('buildgate.v1.BuildGateService'), names.join(','));
  });
  const failed = results.filter(([, ok]) => !ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
