// Decides buildgate's scenario corpus with Cedar (@cedar-policy/cedar-wasm)
// and compares: per-decision time, and for every scenario and builder
// whether both engines admit it.
//   node cedar_bench.js scenarios.json [iterations] > cedar.json
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const [scenarioFile, iterationsArg] = process.argv.slice(2);
const iterations = Number(iterationsArg || 50);
const input = JSON.parse(fs.readFileSync(scenarioFile, 'utf8'));
const policyText = fs.readFileSync(path.join(__dirname, 'builders.cedar'), 'utf8');
const PSS = {PSS_UNSPECIFIED: 0, PSS_PRIVILEGED: 1, PSS_BASELINE: 2, PSS_RESTRICTED: 3};

const parsed = cedar.preparsePolicySet('builders', {staticPolicies: policyText});
if (parsed.type !== 'success') {
  console.error(JSON.stringify(parsed.errors));
  process.exit(2);
}

// One Cedar request per (builder, profile) of a scenario.
function requestsFor(s) {
  const p = s.policy;
  const context = {
    allowed_builders: p.allowedBuilders || [],
    flags: p.featureFlags || [],
    root: p.root,
    privileged: p.privileged,
    platform: p.platform || 'PLATFORM_KUBERNETES',
    sccs: p.openshiftSccs || [],
    pss: PSS[p.podSecurity || 'PSS_UNSPECIFIED'],
    uid_min: Number(p.allowedUids.min),
    uid_max: Number(p.allowedUids.max),
    non_root_uid: Number(p.nonRootUid),
    destination: s.destination,
    arch: s.arch,
    simple_dockerfile: s.simple,
    caching: s.caching,
    dry_run: s.dry_run,
  };
  const out = [];
  for (const b of s.catalog.builders) {
    const image = (b.images || []).find((i) => i.destination === s.destination);
    (b.profiles || []).forEach((prof, i) => {
      const uid = {type: 'Builder', id: `${b.builder}/${i}`};
      out.push({
        builder: b.builder,
        call: {
          principal: {type: 'Step', id: s.name},
          action: {type: 'Action', id: 'run'},
          resource: uid,
          context,
          preparsedPolicySetId: 'builders',
          entities: [{
            uid,
            parents: [],
            attrs: {
              builder: b.builder,
              has_image: Boolean(image),
              archs: image ? image.architectures : [],
              enabling_flags: b.enablingFeatureFlags || [],
              enabled_by_caching: Boolean(b.enabledByCaching),
              displacing_flags: b.displacingFeatureFlags || [],
              dry_run_destinations: (b.dryRun && b.dryRun.destinations) || [],
              platforms: prof.platforms || [],
              requires_simple_dockerfile: Boolean(prof.requiresSimpleDockerfile),
              run_as_root: Boolean(prof.runAsRoot),
              has_uid: prof.uid !== undefined,
              uid: prof.uid !== undefined ? Number(prof.uid) : 0,
              privileged: Boolean(prof.privileged),
              allow_privilege_escalation: Boolean(prof.allowPrivilegeEscalation),
              capabilities: prof.capabilities || [],
            },
          }],
        },
      });
    });
  }
  return out;
}

const scenarios = input.scenarios.map((s) => ({s, requests: requestsFor(s)}));

function decide(requests) {
  const admits = {};
  for (const r of requests) {
    const answer = cedar.statefulIsAuthorized(r.call);
    if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors));
    admits[r.builder] = admits[r.builder] || answer.response.decision === 'allow';
  }
  return admits;
}

// Agreement.
const disagreements = [];
let checks = 0;
for (const {s, requests} of scenarios) {
  const cedarAdmits = decide(requests);
  for (const [builder, engine] of Object.entries(s.engine_admits)) {
    ++checks;
    const c = Boolean(cedarAdmits[builder]);
    if (c !== engine) disagreements.push({scenario: s.name, builder, buildgate: engine, cedar: c});
  }
}

// Speed: one decision = every (builder, profile) request of a scenario.
for (const {requests} of scenarios) decide(requests);  // Warm-up.
const start = process.hrtime.bigint();
for (let i = 0; i < iterations; ++i) {
  for (const {requests} of scenarios) decide(requests);
}
const ns = Number(process.hrtime.bigint() - start) / (iterations * scenarios.length);

console.log(JSON.stringify({
  cedar_version: cedar.getCedarVersion(),
  scenarios: scenarios.length,
  requests_per_decision: scenarios.reduce((a, x) => a + x.requests.length, 0) / scenarios.length,
  cedar_ns_per_decision: ns,
  engine_ns_per_decision: input.engine_ns_per_decision,
  speed_ratio: ns / input.engine_ns_per_decision,
  agreement_checks: checks,
  disagreements,
}));
