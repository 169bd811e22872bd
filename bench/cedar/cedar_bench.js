// Decides buildgate's scenario corpus with Cedar (@cedar-policy/cedar-wasm)
// and compares: per-decision time, per-question time ("can builder X run
// this step?", allow/deny only, the question both engines answer), and for
// every scenario and builder whether both engines admit it.
//   node cedar_bench.js scenarios.json [iterations] > cedar.json
//
// Cedar the fastest way this package's API allows: the policy set is parsed
// once (preparsePolicySet) and every call is statefulIsAuthorized against
// it; every call object (principal, action, resource, context, entities) is
// built once before timing and reused, so a timed call is only Cedar's own
// work: the wasm boundary's conversion of the call object (the package
// takes no pre-parsed entities or context) and the evaluation. A builder
// has one request per run profile (Cedar has no "any element of a set of
// records" to fold them into one); a builder's profiles stop at the first
// allow, so a builder costs one call when its first profile is admitted.
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

let callCount = 0;  // Calls made; read around one untimed pass.
function allows(call) {
  ++callCount;
  const answer = cedar.statefulIsAuthorized(call);
  if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors));
  return answer.response.decision === 'allow';
}

// Whether `builder` is admissible: any of its profiles allowed.
function admits(requests, builder) {
  for (const r of requests) {
    if (r.builder === builder && allows(r.call)) return true;
  }
  return false;
}

// The whole decision's admission part: every builder's answer.
function decide(requests) {
  const out = {};
  for (const r of requests) {
    if (out[r.builder]) continue;  // An earlier profile already allowed it.
    out[r.builder] = allows(r.call);
  }
  return out;
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

// Speed: one question = is one builder admissible for one scenario.
const questions = [];
for (const {s, requests} of scenarios) {
  for (const builder of Object.keys(s.engine_admits)) questions.push({requests, builder});
}
for (const q of questions) admits(q.requests, q.builder);  // Warm-up.
const qstart = process.hrtime.bigint();
for (let i = 0; i < iterations; ++i) {
  for (const q of questions) admits(q.requests, q.builder);
}
const questionNs = Number(process.hrtime.bigint() - qstart) / (iterations * questions.length);
// Calls per decision and per question, counted in one untimed pass.
callCount = 0;
for (const {requests} of scenarios) decide(requests);
const callsPerDecision = callCount / scenarios.length;
callCount = 0;
for (const q of questions) admits(q.requests, q.builder);
const callsPerQuestion = callCount / questions.length;

console.log(JSON.stringify({
  cedar_version: cedar.getCedarVersion(),
  scenarios: scenarios.length,
  requests_per_decision: scenarios.reduce((a, x) => a + x.requests.length, 0) / scenarios.length,
  calls_per_decision: callsPerDecision,
  cedar_ns_per_decision: ns,
  engine_ns_per_decision: input.engine_ns_per_decision,
  speed_ratio: ns / input.engine_ns_per_decision,
  engine_ns_per_decision_fresh: input.engine_ns_per_decision_fresh,
  questions: questions.length,
  cedar_calls_per_question: callsPerQuestion,
  cedar_ns_per_question: questionNs,
  engine_ns_per_question: input.engine_ns_per_question,
  engine_ns_per_question_fresh: input.engine_ns_per_question_fresh,
  question_speed_ratio: questionNs / input.engine_ns_per_question,
  agreement_checks: checks,
  disagreements,
}));
