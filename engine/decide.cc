#include "engine/decide.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/allowlist.h"
#include "engine/limits.h"
#include "engine/policy.h"
#include "engine/reference.h"
#include "engine/registry.h"
#include "engine/remediation.h"
#include "engine/render.h"
#include "engine/status_macros.h"
#include "engine/step_validation.h"

namespace buildgate {
namespace {

// What the step proposes, resolved against the catalog.
struct Proposal {
  v1::Destination destination = v1::DESTINATION_UNSPECIFIED;
  v1::Builder builder = v1::BUILDER_UNSPECIFIED;  // Requested or implied.
  bool is_plugin = false;
  std::string registry_host;     // Normalised, e.g. "docker.io".
  // Plugin steps, all views into the step's `image`:
  absl::string_view image;             // The reference as written.
  absl::string_view image_repository;  // Without registry prefix, tag or digest.
  absl::string_view image_tag;         // "" when untagged.
  bool image_has_digest = false;
};

// A plugin image reference split into repository, tag and digest by the
// reference grammar (engine/reference.h). Docker Hub's host is dropped; any
// other registry host stays part of the repository the catalog is asked for.
absl::Status SplitImage(absl::string_view image, Proposal* p) {
  if (ContainsHarnessExpression(image)) {
    return absl::InvalidArgumentError(
        absl::StrCat("step.image: ", QuoteInput(image),
                     " holds a Harness expression, so the builder it runs cannot be checked; "
                     "name the plugin image literally"));
  }
  BG_ASSIGN_OR_RETURN(const ImageReference ref, ParseImageReference(image, "step.image"));
  p->image_repository = ref.domain.empty()
                            ? ref.repository
                            : image.substr(0, ref.domain.size() + 1 + ref.repository.size());
  p->image_tag = ref.tag;
  p->image_has_digest = !ref.digest.empty();
  return absl::OkStatus();
}

absl::Status Resolve(const CompiledPolicySet& set, const v1::Policy& policy,
                     const v1::BuildStep& step, Proposal* p) {
  if (step.kind() == v1::STEP_KIND_PLUGIN) {
    p->is_plugin = true;
    p->image = step.image();
    BG_RETURN_IF_ERROR(SplitImage(step.image(), p));
    const PluginImageInfo* info = set.FindPluginImage(p->image_repository);
    if (info == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "step.image: ", QuoteInput(p->image_repository),
          " is not a build plugin in the builder catalog (for example plugins/buildah-docker "
          "or plugins/docker)"));
    }
    p->destination = info->destination;
    for (v1::Destination other : info->also_serves) {
      // One image can serve two destinations (buildah-gcr serves GCR and GAR).
      if (other == v1::DESTINATION_GAR &&
          absl::EndsWith(RegistryHost(other, step.registry()), "-docker.pkg.dev")) {
        p->destination = other;
      }
    }
    if (step.requested_builder() != v1::BUILDER_UNSPECIFIED &&
        step.requested_builder() != info->builder) {
      return absl::InvalidArgumentError(absl::StrCat(
          "step.requested_builder: ", v1::Builder_Name(step.requested_builder()),
          " contradicts step.image ", p->image_repository, " (",
          v1::Builder_Name(info->builder), ")"));
    }
    p->builder = info->builder;
  } else {
    p->destination = DestinationOfKind(step.kind());
    p->builder = step.requested_builder();
    if (p->builder == v1::BUILDER_UNSPECIFIED) {
      // What Harness would run for this Build and Push step: a builder that a
      // flag or caching switches on, else the one that needs no switch.
      for (const v1::BuilderSpec& spec : set.catalog().builders()) {
        if (spec.step_type() != v1::STEP_TYPE_BUILD_AND_PUSH) continue;
        const bool switched_on =
            std::any_of(spec.enabling_feature_flags().begin(), spec.enabling_feature_flags().end(),
                        [&](const std::string& f) { return FeatureFlagOn(policy, f); }) ||
            (step.caching() && spec.enabled_by_caching());
        const bool needs_switch = !spec.enabling_feature_flags().empty() || spec.enabled_by_caching();
        if (switched_on) {
          p->builder = spec.builder();
          break;
        }
        if (!needs_switch && p->builder == v1::BUILDER_UNSPECIFIED) p->builder = spec.builder();
      }
    }
  }
  p->registry_host = RegistryHost(p->destination, step.registry());
  if (!ContainsHarnessExpression(step.registry())) {
    const std::string problem = RegistryShapeProblem(p->destination, p->registry_host);
    if (!problem.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("step.registry: ", QuoteInput(step.registry()),
                                                     " does not fit ",
                                                     v1::Destination_Name(p->destination), ": ",
                                                     problem));
    }
  }
  return absl::OkStatus();
}

// Assigns into a proto string field, reusing its capacity (Decide reuses a
// cleared Decision, so steady-state calls allocate little).
void SetText(std::string* field, absl::string_view value) {
  field->assign(value.data(), value.size());
}

v1::Reason* AddReason(v1::Decision* d, v1::ReasonCode code, v1::Builder builder,
                      absl::string_view message) {
  v1::Reason* r = d->add_reasons();
  r->set_code(code);
  r->set_builder(builder);
  SetText(r->mutable_message(), message);
  return r;
}

void AddChange(v1::Decision* d, absl::string_view field, absl::string_view proposed,
               absl::string_view required) {
  v1::Change* c = d->add_changes();
  SetText(c->mutable_field(), field);
  SetText(c->mutable_proposed(), proposed);
  SetText(c->mutable_required(), required);
}

v1::Setting* AddSetting(v1::Decision* d, v1::EnvScope scope, absl::string_view name,
                        absl::string_view value) {
  v1::Setting* s = d->add_settings();
  s->set_scope(scope);
  SetText(s->mutable_name(), name);
  SetText(s->mutable_value(), value);
  return s;
}

// The i-th dot-separated label of a host ("" if absent).
absl::string_view HarnessStepType(v1::StepType type, v1::Destination dest) {
  if (type == v1::STEP_TYPE_PLUGIN) return "Plugin";
  switch (dest) {
    case v1::DESTINATION_ECR: return "BuildAndPushECR";
    case v1::DESTINATION_GCR: return "BuildAndPushGCR";
    case v1::DESTINATION_GAR: return "BuildAndPushGAR";
    case v1::DESTINATION_ACR: return "BuildAndPushACR";
    default: return "BuildAndPushDockerRegistry";
  }
}

// Step-level policy checks that deny whatever the builder.
void CheckStepPolicy(const CompiledScope& scope, const v1::BuildStep& step, const Proposal& p,
                     v1::Decision* d) {
  const v1::Policy& policy = scope.policy;
  const v1::Platform step_platform = step.infrastructure().platform();
  if (step_platform != v1::PLATFORM_UNSPECIFIED && step_platform != policy.platform()) {
    AddReason(d, v1::PLATFORM_MISMATCH, v1::BUILDER_UNSPECIFIED,
              absl::StrCat("the step's infrastructure is ", v1::Platform_Name(step_platform),
                           " but the policy describes ", v1::Platform_Name(policy.platform())));
    v1::Remediation* r = d->add_remediations();
    r->set_message(absl::StrCat("decide this step under a policy set for ",
                                v1::Platform_Name(step_platform)));
  }
  if (!policy.registry_allowlist().empty()) {
    if (ContainsHarnessExpression(step.registry()) || ContainsHarnessExpression(step.repo())) {
      AddReason(d, v1::REGISTRY_UNVERIFIABLE, v1::BUILDER_UNSPECIFIED,
                "the registry or repo is a runtime expression, so the registry allowlist "
                "cannot be checked");
      v1::Remediation* r = d->add_remediations();
      r->set_message("name the registry and repo literally so the allowlist can be checked");
    } else {
      const std::string target = PushTarget(p.destination, step.registry(), step.repo());
      const bool allowed =
          std::any_of(policy.registry_allowlist().begin(), policy.registry_allowlist().end(),
                      [&](const std::string& pat) { return AllowlistAdmits(pat, target); });
      if (!allowed) {
        AddReason(d, v1::REGISTRY_NOT_ALLOWED, v1::BUILDER_UNSPECIFIED,
                  absl::StrCat("push target ", target, " matches no registry_allowlist pattern (",
                               absl::StrJoin(policy.registry_allowlist(), ", "), ")"));
        v1::Remediation* r = d->add_remediations();
        r->add_policy_changes(absl::StrCat("registry_allowlist: + ", target));
        r->set_message(absl::StrCat("push to an allowed registry, or allow ", target));
      }
    }
  }
  const auto& cred = step.credentials();
  if (!cred.password().empty() && !IsHarnessExpression(cred.password())) {
    const bool required = policy.credentials() >= v1::CREDENTIALS_PASSWORD_EXPRESSION;
    AddReason(d, v1::PLAINTEXT_PASSWORD, v1::BUILDER_UNSPECIFIED,
              required ? "the password is plaintext; the policy requires a secret or variable "
                         "expression such as <+secrets.getValue(\"DOCKER_HUB_SECRET\")>"
                       : "the password is plaintext (allowed by policy); prefer "
                         "<+secrets.getValue(\"...\")>");
    if (required) {
      v1::Remediation* r = d->add_remediations();
      r->set_message(
          "store the password as a Harness secret and set credentials.password to "
          "<+secrets.getValue(\"<secret id>\")>");
    }
  }
  if (!cred.username().empty() && !IsHarnessExpression(cred.username()) &&
      policy.credentials() >= v1::CREDENTIALS_ALL_EXPRESSIONS) {
    AddReason(d, v1::PLAINTEXT_USERNAME, v1::BUILDER_UNSPECIFIED,
              "the username is plaintext; the policy requires an expression such as "
              "<+pipeline.variables.DOCKER_HUB_USER>");
    v1::Remediation* r = d->add_remediations();
    r->set_message("set credentials.username to a secret or pipeline variable expression");
  }
}

bool IsDenyingStepReason(const v1::Reason& r, const v1::Policy& policy) {
  switch (r.code()) {
    case v1::PLATFORM_MISMATCH:
    case v1::REGISTRY_NOT_ALLOWED:
    case v1::REGISTRY_UNVERIFIABLE:
    case v1::PLAINTEXT_USERNAME:
      return true;
    case v1::PLAINTEXT_PASSWORD:
      return policy.credentials() >= v1::CREDENTIALS_PASSWORD_EXPRESSION;
    default:
      return false;
  }
}

// Chooses the plugin image: the proposal's own when the policy accepts it,
// else the pinned one. The result points into `cb` or `p`.
absl::string_view ChoosePluginImage(const CompiledBuilder& cb, const v1::Policy& policy,
                                    const Proposal& p, v1::Destination dest, v1::Architecture arch,
                                    v1::Decision* d) {
  const int i = CompiledBuilder::ImageIndex(dest, arch);
  const std::string& pinned = cb.pinned_image[i];
  const v1::Builder b = cb.spec->builder();
  if (!p.is_plugin || p.builder != b) {
    AddReason(d, v1::PLUGIN_IMAGE_PINNED, b, cb.pinned_image_message[i]);
    return pinned;
  }
  const auto& rules = policy.plugin_images();
  const auto& allowed = rules.allowed_versions();
  auto reject = [&](v1::ReasonCode code, absl::string_view why) -> absl::string_view {
    AddReason(d, code, b, absl::StrCat(why, "; pinned to ", pinned));
    return pinned;
  };
  if (p.image_tag.empty() && !p.image_has_digest) {
    if (rules.forbid_untagged()) return reject(v1::PLUGIN_IMAGE_UNTAGGED, "the image has no tag (resolves to latest)");
    if (rules.forbid_latest()) return reject(v1::PLUGIN_IMAGE_LATEST, "the image has no tag, so it resolves to latest");
  }
  if (p.image_tag == "latest" && rules.forbid_latest()) {
    return reject(v1::PLUGIN_IMAGE_LATEST, "the latest tag is forbidden");
  }
  // Split "<version>-linux-<arch>" (the catalog's tag template).
  absl::string_view version = p.image_tag;
  const absl::string_view arch_name = ArchName(arch);
  const std::size_t linux_at = version.find("-linux-");
  if (linux_at != absl::string_view::npos) {
    if (version.substr(linux_at + 7) != arch_name) {
      return reject(v1::PLUGIN_IMAGE_ARCH_MISMATCH,
                    absl::StrCat("tag ", p.image_tag, " is not for ", arch_name, " nodes"));
    }
    version = version.substr(0, linux_at);
  }
  if (!allowed.empty()) {
    const bool digest_only = p.image_has_digest && p.image_tag.empty();
    if (digest_only || std::find(allowed.begin(), allowed.end(), version) == allowed.end()) {
      return reject(v1::PLUGIN_VERSION_NOT_ALLOWED,
                    absl::StrCat("version ", digest_only ? "(digest only)" : version,
                                 " is not in plugin_images.allowed_versions (",
                                 absl::StrJoin(allowed, ", "), ")"));
    }
  }
  return p.image;  // The proposal's own reference, accepted as written.
}

// The stage's runAsUser after InfrastructureChanges, or -1 when it sets none.
int64_t InfrastructureUidAfterChanges(const v1::Policy& policy, const v1::Infrastructure& infra) {
  if (!infra.has_container_security_context()) return -1;  // Not described: not judged.
  const v1::ContainerSecurityContext& ctx = infra.container_security_context();
  if (policy.root() != v1::ROOT_ALLOWED) {
    const bool uid_ok = ctx.has_run_as_user() && ctx.run_as_user() >= policy.allowed_uids().min() &&
                        ctx.run_as_user() <= policy.allowed_uids().max();
    return uid_ok ? ctx.run_as_user() : policy.non_root_uid();
  }
  if (ctx.has_run_as_non_root() && ctx.run_as_non_root() && !ctx.has_run_as_user()) {
    return policy.non_root_uid();
  }
  return ctx.has_run_as_user() ? ctx.run_as_user() : -1;
}

void InfrastructureChanges(const v1::Policy& policy, const v1::BuildStep& step,
                           const BuilderEvaluation& ev, v1::Builder b, v1::Decision* d) {
  // A step sent without its stage's containerSecurityContext is decided on
  // its own; the stage is judged only when it is described.
  if (!step.infrastructure().has_container_security_context()) return;
  const auto& ctx = step.infrastructure().container_security_context();
  const std::string at = "infrastructure.containerSecurityContext.";
  if (policy.root() != v1::ROOT_ALLOWED) {
    if (!ctx.has_run_as_non_root() || !ctx.run_as_non_root()) {
      AddReason(d, v1::INFRA_MUST_RUN_AS_NON_ROOT, v1::BUILDER_UNSPECIFIED,
                absl::StrCat("with ", v1::RootRule_Name(policy.root()),
                             " the stage must run as non-root"));
      AddChange(d, at + "runAsNonRoot",
                ctx.has_run_as_non_root() ? (ctx.run_as_non_root() ? "true" : "false") : "",
                "true");
    }
    const bool uid_ok = ctx.has_run_as_user() && ctx.run_as_user() >= policy.allowed_uids().min() &&
                        ctx.run_as_user() <= policy.allowed_uids().max();
    if (!uid_ok) {
      AddChange(d, at + "runAsUser", ctx.has_run_as_user() ? absl::StrCat(ctx.run_as_user()) : "",
                absl::StrCat(policy.non_root_uid()));
    }
  } else if (ctx.has_run_as_non_root() && ctx.run_as_non_root() && !ctx.has_run_as_user()) {
    // Harness: Run as Non-Root requires a default Run as User.
    AddChange(d, at + "runAsUser", "", absl::StrCat(policy.non_root_uid()));
  }
  if (policy.privileged() == v1::PRIVILEGED_FORBIDDEN && ctx.has_privileged() && ctx.privileged()) {
    AddReason(d, v1::INFRA_PRIVILEGED_FORBIDDEN, v1::BUILDER_UNSPECIFIED,
              "the stage's containerSecurityContext sets privileged; the policy forbids it");
    AddChange(d, at + "privileged", "true", "false");
  }
  if (ev.security.allow_privilege_escalation && ctx.has_allow_privilege_escalation() &&
      !ctx.allow_privilege_escalation()) {
    AddReason(d, v1::INFRA_PRIVILEGE_ESCALATION_NEEDED, b,
              "the builder needs allowPrivilegeEscalation (newuidmap/newgidmap)");
    AddChange(d, at + "allowPrivilegeEscalation", "false", "true");
  }
  const auto& drop = ctx.capabilities().drop();
  const auto& add = ctx.capabilities().add();
  const bool drops_all = std::find(drop.begin(), drop.end(), "ALL") != drop.end();
  std::vector<std::string> kept_drop, missing;
  for (const std::string& cap : drop) {
    const bool needed = std::find(ev.security.capabilities.begin(), ev.security.capabilities.end(),
                                  cap) != ev.security.capabilities.end();
    if (!needed) kept_drop.push_back(cap);
  }
  if (kept_drop.size() != static_cast<std::size_t>(drop.size())) {
    AddReason(d, v1::INFRA_CAPABILITIES_NEEDED, b,
              "the stage drops capabilities the builder needs");
    AddChange(d, at + "capabilities.drop", absl::StrJoin(drop, ","), absl::StrJoin(kept_drop, ","));
  }
  if (drops_all) {
    std::vector<std::string> new_add(add.begin(), add.end());
    for (const std::string& cap : ev.security.capabilities) {
      if (std::find(add.begin(), add.end(), cap) == add.end()) {
        missing.push_back(cap);
        new_add.push_back(cap);
      }
    }
    if (!missing.empty()) {
      AddReason(d, v1::INFRA_CAPABILITIES_NEEDED, b,
                absl::StrCat("the stage drops ALL capabilities; the builder needs ",
                             absl::StrJoin(missing, ", "), " added back"));
      AddChange(d, at + "capabilities.add", absl::StrJoin(add, ","), absl::StrJoin(new_add, ","));
    }
  }
}

}  // namespace

absl::Status Decide(const CompiledPolicySet& set, const v1::BuildStep& step, v1::Decision* out) {
  out->Clear();  // Keeps allocated sub-messages and string capacity for reuse.
  BG_RETURN_IF_ERROR(ValidateStep(step));
  if (!step.org_id().empty() && step.org_id() != set.org_id()) {
    return absl::InvalidArgumentError(absl::StrCat("step.org_id: ", QuoteInput(step.org_id()),
                                                   " does not match the policy set's org ",
                                                   QuoteInput(set.org_id())));
  }
  const CompiledScope& scope = set.ScopeFor(step.project_id(), step.pipeline_id());
  const v1::Policy& policy = scope.policy;
  Proposal p;
  BG_RETURN_IF_ERROR(Resolve(set, policy, step, &p));
  const v1::Architecture arch = step.arch() == v1::ARCH_UNSPECIFIED ? v1::ARCH_AMD64 : step.arch();
  const int index = CompiledBuilder::Index(p.destination, arch, step.simple_dockerfile());

  v1::Decision& d = *out;
  SetText(d.mutable_policy_revision(), scope.revision);
  SetText(d.mutable_policy_fingerprint(), set.fingerprint());
  SetText(d.mutable_policy_scope(), scope.name);

  // 1. Findings about the step itself.
  CheckStepPolicy(scope, step, p, &d);
  bool denied_by_step = false;
  for (const v1::Reason& r : d.reasons()) denied_by_step |= IsDenyingStepReason(r, policy);

  // 2. Which builders can run it: the precomputed table plus the checks
  // that depend on the step (a flag that caching can stand in for, dry run).
  struct Candidate {
    const CompiledBuilder* cb = nullptr;
    StepFit fit;
    bool admissible = false;
  };
  // A scope lists each builder of the Builder enum at most once.
  constexpr std::size_t kMaxBuilders = v1::Builder_ARRAYSIZE;
  std::array<Candidate, kMaxBuilders> candidates;
  const std::size_t n = std::min(scope.builders.size(), kMaxBuilders);
  const Candidate* requested = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    Candidate& c = candidates[i];
    c.cb = &scope.builders[i];
    const v1::BuilderSpec& spec = *c.cb->spec;
    const BuilderEvaluation& ev = c.cb->table[index];
    c.fit = CheckStepFit(spec, ev, step, p.destination);
    c.admissible = ev.admissible && c.fit.ok();
    if (spec.builder() == p.builder) requested = &c;
  }
  const Candidate* chosen = nullptr;
  v1::ReasonCode why = v1::CHOSEN_AS_REQUESTED;
  if (requested != nullptr && requested->admissible) {
    chosen = requested;
  } else {
    for (std::size_t i = 0; i < n && step.caching() && chosen == nullptr; ++i) {
      if (candidates[i].admissible && candidates[i].cb->spec->caching().supported()) {
        chosen = &candidates[i];
        why = v1::CHOSEN_FOR_CACHING;
      }
    }
    for (std::size_t i = 0; i < n && chosen == nullptr; ++i) {
      if (candidates[i].admissible) {
        chosen = &candidates[i];
        why = v1::CHOSEN_BY_PREFERENCE;
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const Candidate& c = candidates[i];
    if (c.admissible) continue;
    v1::RejectedBuilder* rb = d.add_rejected_builders();
    *rb = c.cb->rejected[index];
    if (c.fit.flag_missing) *rb->add_reasons() = c.cb->feature_flag_required;
    if (c.fit.dry_run_unsupported) *rb->add_reasons() = c.cb->dry_run_unsupported[p.destination];
  }

  if (chosen == nullptr || denied_by_step) {
    d.set_verdict(v1::VERDICT_DENY);
    if (chosen == nullptr) {
      AddReason(&d, v1::NO_ADMISSIBLE_BUILDER, v1::BUILDER_UNSPECIFIED,
                absl::StrCat("no builder can run this ", v1::Destination_Name(p.destination),
                             " step under the policy (", scope.name, ")"));
      for (v1::Remediation& r : FindRemediations(scope, step, p.destination, arch)) {
        *d.add_remediations() = std::move(r);
      }
    }
    return absl::OkStatus();
  }

  // 3. The decision for the chosen builder.
  const CompiledBuilder& cb = *chosen->cb;
  const v1::BuilderSpec& spec = *cb.spec;
  const BuilderEvaluation& ev = cb.table[index];
  const v1::RunProfile& profile = spec.profiles(ev.profile);
  const v1::Builder b = spec.builder();
  const bool plugin = spec.step_type() == v1::STEP_TYPE_PLUGIN;
  d.set_builder(b);
  d.set_step_type(spec.step_type());
  SetText(d.mutable_harness_step_type(), HarnessStepType(spec.step_type(), p.destination));
  SetText(d.mutable_profile(), profile.name());
  d.set_privileged(ev.security.privileged);
  d.set_run_as_user(ev.security.uid);
  d.set_required_pod_security(ev.satisfied_pss);

  AddReason(&d, why, b,
            why == v1::CHOSEN_AS_REQUESTED   ? cb.chosen_as_requested_message
            : why == v1::CHOSEN_FOR_CACHING ? cb.chosen_for_caching_message
                                             : cb.chosen_by_preference_message);
  if (why != v1::CHOSEN_AS_REQUESTED && requested != nullptr) {
    AddReason(&d, v1::REQUEST_OVERRIDDEN, requested->cb->spec->builder(),
              requested->cb->request_overridden_message);
  }
  AddReason(&d, ev.security.uid == 0 ? v1::RUNS_AS_ROOT_ON_STEP : v1::RUNS_AS_NON_ROOT, b,
            cb.runs_as_message[ev.profile]);
  AddReason(&d, ev.security.privileged ? v1::RUNS_PRIVILEGED : v1::RUNS_UNPRIVILEGED, b,
            cb.privileged_message[ev.profile]);

  // Image and settings.
  if (plugin) {
    SetText(d.mutable_image(), ChoosePluginImage(cb, policy, p, p.destination, arch, &d));
    AddSetting(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "repo", step.repo());
    if (step.tags_size() > 0) {
      v1::Setting* tags = AddSetting(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "tags", step.tags(0));
      for (int i = 1; i < step.tags_size(); ++i) {
        tags->mutable_value()->push_back(',');
        tags->mutable_value()->append(step.tags(i));
      }
    }
    if (!step.registry().empty()) {
      AddSetting(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "registry", step.registry());
    }
    if (p.destination == v1::DESTINATION_ECR) {
      // The plugin defaults to us-east-1; say the registry's region.
      const std::optional<EcrHost> ecr = ParseEcrHost(p.registry_host);
      if (ecr && !ecr->region.empty()) {
        AddSetting(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "region", ecr->region);
      }
    }
    if (!step.dockerfile().empty()) {
      AddSetting(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "dockerfile", step.dockerfile());
    }
    if (!step.context().empty()) AddSetting(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "context", step.context());
    const auto& cred = step.credentials();
    if (!cred.username().empty()) {
      AddSetting(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "username", cred.username());
    }
    if (!cred.password().empty()) {
      AddSetting(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "password",
                 IsHarnessExpression(cred.password()) ? absl::string_view(cred.password()) : kRedacted);
    }
  } else {
    SetText(d.mutable_image(), cb.image_repository[p.destination]);
  }
  const bool caches = spec.caching().supported();
  if (step.caching()) {
    if (caches) {
      const v1::Knob& k = spec.caching().knob();
      AddSetting(&d, k.scope(), k.name(), k.value());
    } else {
      AddReason(&d, v1::CACHING_UNAVAILABLE, b, cb.caching_unavailable_message);
    }
  }
  if (step.dry_run()) {
    const v1::Knob& k = spec.dry_run().knob();
    AddSetting(&d, k.scope(), k.name(), k.value());
    AddReason(&d, v1::DRY_RUN_CONFIGURED, b, cb.dry_run_configured_message);
  }

  // Changes against the proposal.
  if (b != p.builder) {
    AddChange(&d, "builder", v1::Builder_Name(p.builder), v1::Builder_Name(b));
  }
  const absl::string_view proposed_type =
      p.is_plugin ? "Plugin" : HarnessStepType(v1::STEP_TYPE_BUILD_AND_PUSH, p.destination);
  if (proposed_type != d.harness_step_type()) {
    AddChange(&d, "type", proposed_type, d.harness_step_type());
  }
  if (plugin && d.image() != step.image()) AddChange(&d, "spec.image", step.image(), d.image());
  const auto& ctx = step.infrastructure().container_security_context();
  if (plugin) {
    const bool proposed_priv = step.has_privileged() ? step.privileged()
                               : ctx.has_privileged() ? ctx.privileged() : false;
    if (proposed_priv != ev.security.privileged) {
      AddChange(&d, "spec.privileged",
                step.has_privileged() || ctx.has_privileged() ? (proposed_priv ? "true" : "false") : "",
                ev.security.privileged ? "true" : "false");
    }
  }
  // The UID the step would inherit once the infrastructure changes below
  // are made, else the image's own user.
  const int64_t infra_uid = InfrastructureUidAfterChanges(policy, step.infrastructure());
  const int64_t proposed_uid = step.has_run_as_user() ? step.run_as_user()
                               : infra_uid >= 0       ? infra_uid
                                                      : spec.image_default_uid();
  if (proposed_uid != ev.security.uid) {
    AddChange(&d, "spec.runAsUser", step.has_run_as_user() ? absl::StrCat(proposed_uid) : "",
              absl::StrCat(ev.security.uid));
  }
  if (step.caching() && !caches && !p.is_plugin && !plugin) {
    AddChange(&d, "spec.caching", "true", "false");
  }
  InfrastructureChanges(policy, step, ev, b, &d);

  d.set_verdict(d.changes().empty() ? v1::VERDICT_ALLOW : v1::VERDICT_ALLOW_WITH_CHANGES);
  RenderStepYaml(step, d, p.destination, d.mutable_step_yaml());
  RenderStageVariablesYaml(d, d.mutable_stage_variables_yaml());
  return absl::OkStatus();
}

}  // namespace buildgate
