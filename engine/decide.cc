// Decide() as a short pipeline of named stages:
//   validate -> scope -> resolve -> step checks -> choose builder ->
//   deny, or fill the decision -> render.
// The builder rules are precomputed per scope (compiled_tables.h); the
// stages here add only what depends on the step itself.
#include "engine/decide.h"

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "grammar/allowlist.h"
#include "engine/internal/builder_evaluation.h"
#include "engine/internal/compiled_tables.h"
#include "engine/enum_names.h"
#include "input/limits.h"
#include "engine/proposal.h"
#include "engine/internal/remediation.h"
#include "engine/render.h"
#include "engine/internal/shape_memo.h"
#include "engine/shape_memo_bypass.h"
#include "engine/step_validation.h"
#include "engine/policy.h"

namespace buildgate {
namespace {

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

absl::string_view HarnessStepType(v1::StepType type, v1::Destination dest) {
  if (type == v1::STEP_TYPE_PLUGIN) return "Plugin";
  switch (dest) {
    case v1::DESTINATION_ECR:
      return "BuildAndPushECR";
    case v1::DESTINATION_GCR:
      return "BuildAndPushGCR";
    case v1::DESTINATION_GAR:
      return "BuildAndPushGAR";
    case v1::DESTINATION_ACR:
      return "BuildAndPushACR";
    default:
      return "BuildAndPushDockerRegistry";
  }
}

// The stage's runAsUser after InfrastructureChanges, or -1 when it sets none.
int64_t InfrastructureUidAfterChanges(const v1::Policy& policy, const v1::Infrastructure& infra) {
  if (!infra.has_container_security_context()) return -1;  // Not described: not judged.
  const v1::ContainerSecurityContext& ctx = infra.container_security_context();
  if (policy.root() != v1::ROOT_ALLOWED) {
    const bool uid_ok = ctx.has_run_as_user() && AllowsUid(policy, ctx.run_as_user());
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
                absl::StrCat("with ", EnumName(policy.root()), " the stage must run as non-root"));
      AddChange(d, at + "runAsNonRoot",
                ctx.has_run_as_non_root() ? (ctx.run_as_non_root() ? "true" : "false") : "",
                "true");
    }
    const bool uid_ok = ctx.has_run_as_user() && AllowsUid(policy, ctx.run_as_user());
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

// ---- Stage: step checks. Each adds its findings and returns true when it
// denies the step whatever the builder.

bool CheckPlatform(const v1::Policy& policy, const v1::BuildStep& step, v1::Decision* d) {
  const v1::Platform step_platform = step.infrastructure().platform();
  if (step_platform == v1::PLATFORM_UNSPECIFIED || step_platform == policy.platform()) return false;
  AddReason(d, v1::PLATFORM_MISMATCH, v1::BUILDER_UNSPECIFIED,
            absl::StrCat("the step's infrastructure is ", EnumName(step_platform),
                         " but the policy describes ", EnumName(policy.platform())));
  d->add_remediations()->set_message(
      absl::StrCat("decide this step under a policy set for ", EnumName(step_platform)));
  return true;
}

bool CheckRegistryAllowlist(const v1::Policy& policy, const Proposal& p, v1::Decision* d) {
  const auto& patterns = policy.registry_allowlist();
  if (patterns.empty()) return false;
  auto any = [&](auto&& admits) { return std::any_of(patterns.begin(), patterns.end(), admits); };
  if (!p.push_host_known) {
    AddReason(
        d, v1::REGISTRY_UNVERIFIABLE, v1::BUILDER_UNSPECIFIED,
        absl::StrCat("the push target's registry host (", QuoteInput(p.push_target),
                     ") is a runtime expression, so the registry allowlist cannot be checked"));
    d->add_remediations()->set_message(
        "name the registry host literally (an expression in the repository path can still be "
        "checked)");
    return true;
  }
  if (p.push_path_known) {
    if (any([&](const std::string& pat) { return AllowlistAdmits(pat, p.push_target); }))
      return false;
  } else {
    if (any([&](const std::string& pat) {
          return AllowlistAdmitsEveryValue(pat, p.push_target);
        })) {
      return false;
    }
    const absl::string_view host =
        absl::string_view(p.push_target).substr(0, p.push_target.find('/'));
    if (any([&](const std::string& pat) { return AllowlistHostAdmits(pat, host); })) {
      AddReason(
          d, v1::REGISTRY_UNVERIFIABLE, v1::BUILDER_UNSPECIFIED,
          absl::StrCat("push target ", p.push_target,
                       " holds a runtime expression, and no registry_allowlist pattern admits "
                       "every value it can take (",
                       absl::StrJoin(patterns, ", "), ")"));
      d->add_remediations()->set_message(
          "name the repository literally, or allow its whole namespace with a pattern ending "
          "in /** (an expression may expand to several path segments)");
      return true;
    }
  }
  AddReason(d, v1::REGISTRY_NOT_ALLOWED, v1::BUILDER_UNSPECIFIED,
            absl::StrCat("push target ", p.push_target, " matches no registry_allowlist pattern (",
                         absl::StrJoin(patterns, ", "), ")"));
  v1::Remediation* r = d->add_remediations();
  r->add_policy_changes(absl::StrCat("registry_allowlist: + ", p.push_target));
  r->set_message(absl::StrCat("push to an allowed registry, or allow ", p.push_target));
  return true;
}

bool CheckCredentials(const v1::Policy& policy, const Proposal& p, v1::Decision* d) {
  bool denies = false;
  if (p.password_plaintext) {
    const bool required = policy.credentials() >= v1::CREDENTIALS_PASSWORD_EXPRESSION;
    AddReason(d, v1::PLAINTEXT_PASSWORD, v1::BUILDER_UNSPECIFIED,
              required ? "the password is plaintext; the policy requires a secret or variable "
                         "expression such as <+secrets.getValue(\"DOCKER_HUB_SECRET\")>"
                       : "the password is plaintext (allowed by policy); prefer "
                         "<+secrets.getValue(\"...\")>");
    if (required) {
      d->add_remediations()->set_message(
          "store the password as a Harness secret and set credentials.password to "
          "<+secrets.getValue(\"<secret id>\")>");
      denies = true;
    }
  }
  if (p.username_plaintext && policy.credentials() >= v1::CREDENTIALS_ALL_EXPRESSIONS) {
    AddReason(d, v1::PLAINTEXT_USERNAME, v1::BUILDER_UNSPECIFIED,
              "the username is plaintext; the policy requires an expression such as "
              "<+pipeline.variables.DOCKER_HUB_USER>");
    d->add_remediations()->set_message(
        "set credentials.username to a secret or pipeline variable expression");
    denies = true;
  }
  return denies;
}

absl::string_view OsName(v1::OperatingSystem os) {
  switch (os) {
    case v1::OPERATING_SYSTEM_WINDOWS:
      return "Windows";
    case v1::OPERATING_SYSTEM_MACOS:
      return "macOS";
    default:
      return "Linux";
  }
}

// "Harness Cloud (Windows)".
std::string PlaceName(const v1::InfrastructureSpec& infrastructure, v1::OperatingSystem os) {
  return absl::StrCat(infrastructure.display_name(), " (", OsName(os), ")");
}

std::string PlacementName(const Placement& where) {
  return PlaceName(*where.infrastructure, where.os);
}

// Whether Harness runs the step's kind (Build and Push, or a Plugin step
// of its builder) where `os` describes.
bool RunsThere(const v1::OsSupport& os, const Proposal& p) {
  if (!p.is_plugin) return os.build_and_push() != v1::BUILDER_UNSPECIFIED;
  return std::find(os.plugin_builders().begin(), os.plugin_builders().end(), p.builder) !=
         os.plugin_builders().end();
}

// Where the catalog says Harness runs the step's kind: on `os` when it
// runs anywhere on it, else anywhere ("Harness Cloud (Linux), ...").
std::string PlacesItRuns(const v1::BuilderCatalog& catalog, const Proposal& p,
                         v1::OperatingSystem os) {
  std::vector<std::string> same_os, any_os;
  for (const v1::InfrastructureSpec& infra : catalog.infrastructures()) {
    for (const v1::OsSupport& support : infra.operating_systems()) {
      if (!RunsThere(support, p)) continue;
      (support.os() == os ? same_os : any_os).push_back(PlaceName(infra, support.os()));
    }
  }
  return absl::StrJoin(same_os.empty() ? any_os : same_os, ", ");
}

// Whether builds may run where the step runs (the policy's
// allowed_infrastructures), and whether Harness runs this kind of step
// there on the step's OS and architecture (the catalog's facts).
bool CheckInfrastructure(const v1::BuilderCatalog& catalog, const v1::Policy& policy,
                         const v1::BuildStep& step, const Proposal& p, const Placement& where,
                         v1::Decision* d) {
  bool denies = false;
  if (!AllowsInfrastructure(policy, where.type)) {
    std::vector<absl::string_view> allowed;
    for (int type : policy.allowed_infrastructures()) {
      allowed.push_back(EnumName(static_cast<v1::InfrastructureType>(type)));
    }
    AddReason(d, v1::INFRASTRUCTURE_NOT_ALLOWED, v1::BUILDER_UNSPECIFIED,
              absl::StrCat("the stage runs on ", where.infrastructure->display_name(),
                           "; the policy allows builds on ", absl::StrJoin(allowed, ", "),
                           " only"));
    v1::Remediation* r = d->add_remediations();
    r->add_policy_changes(absl::StrCat("allowed_infrastructures: + ", EnumName(where.type)));
    r->set_message(absl::StrCat("run the stage on ", absl::StrJoin(allowed, " or "),
                                ", or allow ", EnumName(where.type)));
    denies = true;
  }
  const v1::OsSupport* os = where.support;
  std::string why;
  if (os == nullptr) {
    why = absl::StrCat("buildgate's catalog holds no facts about builds on ",
                       PlacementName(where), ", so it cannot decide this one");
  } else if (!RunsThere(*os, p)) {
    why = p.is_plugin ? absl::StrCat("no image of ", EnumName(p.builder), " runs on ",
                                     PlacementName(where))
                      : absl::StrCat("Harness does not run Build and Push steps on ",
                                     PlacementName(where));
  }
  if (!why.empty()) {
    AddReason(d, v1::OS_UNSUPPORTED, v1::BUILDER_UNSPECIFIED, why);
    d->add_remediations()->set_message(
        absl::StrCat("run the build where it runs: ", PlacesItRuns(catalog, p, where.os)));
    return true;
  }
  const v1::Arch arch = step.arch() == v1::ARCH_UNSPECIFIED ? v1::ARCH_AMD64 : step.arch();
  const auto& arches = os->architectures();
  if (std::find(arches.begin(), arches.end(), arch) == arches.end()) {
    AddReason(d, v1::ARCHITECTURE_UNSUPPORTED, v1::BUILDER_UNSPECIFIED,
              absl::StrCat(PlacementName(where), " offers no ", ArchName(arch), " machines"));
    std::vector<absl::string_view> offered;
    for (int a : arches) offered.push_back(ArchName(static_cast<v1::Arch>(a)));
    d->add_remediations()->set_message(
        absl::StrCat("build on ", absl::StrJoin(offered, " or "), " machines there"));
    denies = true;
  }
  return denies;
}

// Every check runs (a denied step reports all its problems at once). Off
// Kubernetes the platform is not the policy's concern.
bool StepChecksDeny(const v1::BuilderCatalog& catalog, const v1::Policy& policy,
                    const v1::BuildStep& step, const Proposal& p, const Placement& where,
                    v1::Decision* d) {
  const bool platform = where.infrastructure->kubernetes() && CheckPlatform(policy, step, d);
  const bool infrastructure = CheckInfrastructure(catalog, policy, step, p, where, d);
  const bool registry = CheckRegistryAllowlist(policy, p, d);
  const bool credentials = CheckCredentials(policy, p, d);
  return platform || infrastructure || registry || credentials;
}

// ---- Stage: choose the builder.

// The step's shape: which precomputed table entry applies.
struct StepShape {
  v1::Arch arch = v1::ARCH_AMD64;
  int index = 0;  // CompiledBuilder::Index(destination, arch, simple Dockerfile)
};

StepShape ShapeOf(const v1::BuildStep& step, const Proposal& p) {
  StepShape shape;
  shape.arch = step.arch() == v1::ARCH_UNSPECIFIED ? v1::ARCH_AMD64 : step.arch();
  shape.index = CompiledBuilder::Index(p.destination, shape.arch, step.simple_dockerfile());
  return shape;
}

// The table says which builders the scope admits for the step's shape; the
// step adds a feature flag that caching can stand in for, and dry run. The
// proposal's builder wins when admissible; else, for a caching step, the
// first admissible builder that caches; else the first admissible one.
// Every builder not admissible goes to rejected_builders with its reasons;
// when none is admissible, the remediation search says what would admit
// one. Reads only the shape's inputs (shape_memo.h), so the outcome is
// memoized per shape.
std::unique_ptr<ShapeOutcome> ComputeShapeOutcome(const CompiledScope& scope,
                                                  const v1::BuildStep& step, const Proposal& p,
                                                  const StepShape& shape) {
  auto o = std::make_unique<ShapeOutcome>();
  const int count = static_cast<int>(scope.builders.size());
  std::vector<StepFit> fits(count);
  std::vector<char> admissible(count);
  for (int i = 0; i < count; ++i) {
    const CompiledBuilder& cb = scope.builders[i];
    const BuilderEvaluation& ev = cb.table[shape.index];
    fits[i] = CheckStepFit(*cb.spec, ev, step, p.destination);
    admissible[i] = ev.admissible && fits[i].ok();
    if (admissible[i]) o->admissible_builders |= uint32_t{1} << cb.spec->builder();
    if (cb.spec->builder() == p.builder) o->requested = i;
  }
  auto first = [&](auto&& wanted) {
    for (int i = 0; i < count; ++i) {
      if (admissible[i] && wanted(scope.builders[i])) return i;
    }
    return -1;
  };
  if (o->requested >= 0 && admissible[o->requested]) {
    o->chosen = o->requested;
    o->why = v1::CHOSEN_AS_REQUESTED;
  } else if (step.caching() && (o->chosen = first([](const CompiledBuilder& cb) {
                                  return cb.spec->caching().supported();
                                })) >= 0) {
    o->why = v1::CHOSEN_FOR_CACHING;
  } else if ((o->chosen = first([](const CompiledBuilder&) { return true; })) >= 0) {
    o->why = v1::CHOSEN_BY_PREFERENCE;
  }
  for (int i = 0; i < count; ++i) {
    if (admissible[i]) continue;
    const CompiledBuilder& cb = scope.builders[i];
    v1::RejectedBuilder& rb = o->rejected_builders.emplace_back(cb.rejected[shape.index]);
    if (fits[i].flag_missing) *rb.add_reasons() = cb.feature_flag_required;
    if (fits[i].dry_run_unsupported) *rb.add_reasons() = cb.dry_run_unsupported[p.destination];
  }
  if (o->chosen < 0) o->remediations = FindRemediations(scope, step, p.destination, shape.arch);
  return o;
}

// The shape's outcome from the scope's memo, computed and kept on a miss;
// computed into `fresh` under a ShapeMemoBypass or when the memo is full.
const ShapeOutcome& ShapeOutcomeFor(const CompiledScope& scope, const v1::BuildStep& step,
                                    const Proposal& p, const StepShape& shape,
                                    std::unique_ptr<ShapeOutcome>* fresh) {
  if (ShapeMemoBypass::Active()) {
    *fresh = ComputeShapeOutcome(scope, step, p, shape);
    return **fresh;
  }
  const ShapeMemo& memo = scope.tables->memo;
  const int slot = ShapeMemo::Slot(shape.index, p.builder, step.caching(), step.dry_run());
  if (const ShapeOutcome* known = memo.Find(slot)) return *known;
  *fresh = ComputeShapeOutcome(scope, step, p, shape);
  const ShapeOutcome* kept = memo.Publish(slot, fresh);
  return kept != nullptr ? *kept : **fresh;  // nullptr: the memo is full.
}

// ---- Stage: deny.

void Deny(const CompiledScope& scope, const Proposal& p, const ShapeOutcome& outcome, bool full,
          v1::Decision* d) {
  d->set_verdict(v1::VERDICT_DENY);
  if (outcome.chosen >= 0) return;  // Denied by the step checks alone.
  AddReason(d, v1::NO_ADMISSIBLE_BUILDER, v1::BUILDER_UNSPECIFIED,
            absl::StrCat("no builder can run this ", EnumName(p.destination),
                         " step under the policy (", scope.name, ")"));
  if (!full) return;
  for (const v1::Remediation& r : outcome.remediations) *d->add_remediations() = r;
}

// ---- Stage: fill the decision for the chosen builder.

// Sets d->image for a plugin builder: the proposal's own reference when the
// policy accepts it, else the pinned catalog image, pulled from the
// proposal's mirror when it came from one.
//
// Off Linux (`on_linux` false) the catalog's pinned images, Linux images, are
// no remedy: an image the rules refuse denies the step (returns false).
bool ChoosePluginImage(const CompiledBuilder& cb, const v1::Policy& policy, const Proposal& p,
                       const StepShape& shape, bool on_linux, v1::Decision* d) {
  const int i = CompiledBuilder::ImageIndex(p.destination, shape.arch);
  const v1::Builder b = cb.spec->builder();
  auto pin = [&](v1::ReasonCode code, absl::string_view why) {
    if (!on_linux) {
      AddReason(d, code, b, why);
      d->add_remediations()->set_message(
          "name an image built for this operating system, with a tag the plugin_images rules "
          "accept");
      return false;
    }
    const std::string pinned = ImageFromProposedSource(p, cb.pinned_image[i]);
    AddReason(d, code, b,
              why.empty() ? absl::StrCat("image pinned to ", pinned)
                          : absl::StrCat(why, "; pinned to ", pinned));
    SetText(d->mutable_image(), pinned);
    return true;
  };
  if (!p.is_plugin || p.builder != b) {
    if (p.image.mirror_prefix.empty()) {
      AddReason(d, v1::PLUGIN_IMAGE_PINNED, b, cb.pinned_image_message[i]);
      SetText(d->mutable_image(), cb.pinned_image[i]);
      return true;
    }
    return pin(v1::PLUGIN_IMAGE_PINNED, "");
  }
  const ProposedImage& image = p.image;
  const auto& rules = policy.plugin_images();
  const auto& allowed = rules.allowed_versions();
  if (!image.tag_known) {
    // The version is chosen when the pipeline runs: a rule about it cannot
    // be checked now, so the image is pinned to one that passes.
    if (!allowed.empty() || rules.forbid_latest()) {
      return pin(v1::PLUGIN_VERSION_UNVERIFIABLE,
                 absl::StrCat("the tag ", QuoteInput(image.tag),
                              " is a runtime expression, so plugin_images rules cannot be "
                              "checked"));
    }
    SetText(d->mutable_image(), image.reference);
    return true;
  }
  if (image.tag.empty() && image.digest.empty()) {
    if (rules.forbid_untagged())
      return pin(v1::PLUGIN_IMAGE_UNTAGGED, "the image has no tag (resolves to latest)");
    if (rules.forbid_latest())
      return pin(v1::PLUGIN_IMAGE_LATEST, "the image has no tag, so it resolves to latest");
  }
  if (image.tag == "latest" && rules.forbid_latest()) {
    return pin(v1::PLUGIN_IMAGE_LATEST, "the latest tag is forbidden");
  }
  // Split "<version>-linux-<arch>" (the catalog's tag template).
  absl::string_view version = image.tag;
  const absl::string_view arch_name = ArchName(shape.arch);
  const std::size_t linux_at = version.find("-linux-");
  if (linux_at != absl::string_view::npos) {
    if (version.substr(linux_at + 7) != arch_name) {
      return pin(v1::PLUGIN_IMAGE_ARCH_MISMATCH,
                 absl::StrCat("tag ", image.tag, " is not for ", arch_name, " nodes"));
    }
    version = version.substr(0, linux_at);
  }
  if (!allowed.empty()) {
    const bool digest_only = !image.digest.empty() && image.tag.empty();
    if (digest_only || std::find(allowed.begin(), allowed.end(), version) == allowed.end()) {
      return pin(v1::PLUGIN_VERSION_NOT_ALLOWED,
                 absl::StrCat("version ", digest_only ? "(digest only)" : version,
                              " is not in plugin_images.allowed_versions (",
                              absl::StrJoin(allowed, ", "), ")"));
    }
  }
  SetText(d->mutable_image(), image.reference);  // Accepted as written.
  return true;
}

void AddPluginSettings(const v1::BuildStep& step, const Proposal& p, v1::Decision* d) {
  AddSetting(d, v1::ENV_SCOPE_PLUGIN_SETTING, "repo", step.repo());
  if (step.tags_size() > 0) {
    v1::Setting* tags = AddSetting(d, v1::ENV_SCOPE_PLUGIN_SETTING, "tags", step.tags(0));
    for (int i = 1; i < step.tags_size(); ++i) {
      tags->mutable_value()->push_back(',');
      tags->mutable_value()->append(step.tags(i));
    }
  }
  if (!step.registry().empty())
    AddSetting(d, v1::ENV_SCOPE_PLUGIN_SETTING, "registry", step.registry());
  // The ECR plugins default to us-east-1; say the registry's region.
  if (!p.ecr_region.empty()) AddSetting(d, v1::ENV_SCOPE_PLUGIN_SETTING, "region", p.ecr_region);
  if (!step.dockerfile().empty())
    AddSetting(d, v1::ENV_SCOPE_PLUGIN_SETTING, "dockerfile", step.dockerfile());
  if (!step.context().empty())
    AddSetting(d, v1::ENV_SCOPE_PLUGIN_SETTING, "context", step.context());
  const auto& cred = step.credentials();
  if (!cred.username().empty())
    AddSetting(d, v1::ENV_SCOPE_PLUGIN_SETTING, "username", cred.username());
  if (!cred.password().empty()) {
    AddSetting(
        d, v1::ENV_SCOPE_PLUGIN_SETTING, "password",
        p.password_plaintext ? kRedacted : absl::string_view(cred.password()));
  }
}

// The changes that turn the proposal into the decision.
void AddChanges(const v1::Policy& policy, const v1::BuildStep& step, const Proposal& p,
                const CompiledBuilder& cb, const BuilderEvaluation& ev, v1::Decision* d) {
  const v1::BuilderSpec& spec = *cb.spec;
  const v1::Builder b = spec.builder();
  const bool plugin = spec.step_type() == v1::STEP_TYPE_PLUGIN;
  if (b != p.builder) AddChange(d, "builder", EnumName(p.builder), EnumName(b));
  const absl::string_view proposed_type =
      p.is_plugin ? "Plugin" : HarnessStepType(v1::STEP_TYPE_BUILD_AND_PUSH, p.destination);
  if (proposed_type != d->harness_step_type()) {
    AddChange(d, "type", proposed_type, d->harness_step_type());
  }
  if (plugin && d->image() != step.image()) AddChange(d, "spec.image", step.image(), d->image());
  const auto& ctx = step.infrastructure().container_security_context();
  if (plugin) {
    const bool proposed_priv = step.has_privileged()  ? step.privileged()
                               : ctx.has_privileged() ? ctx.privileged()
                                                      : false;
    if (proposed_priv != ev.security.privileged) {
      AddChange(
          d, "spec.privileged",
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
    AddChange(d, "spec.runAsUser", step.has_run_as_user() ? absl::StrCat(proposed_uid) : "",
              absl::StrCat(ev.security.uid));
  }
  if (step.caching() && !spec.caching().supported() && !p.is_plugin && !plugin) {
    AddChange(d, "spec.caching", "true", "false");
  }
  InfrastructureChanges(policy, step, ev, b, d);
}

// `full`: with the reasons' messages (the BASIC view drops them, so they
// are not written only to be cleared).
// Inlined into its caller, as GCC did on its own before Decide had two
// entry points (Decide, DecidePluginStep): a call here costs every decision.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void FillDecision(const CompiledScope& scope,
                                                      const v1::BuildStep& step, const Proposal& p,
                                                      const StepShape& shape,
                                                      const ShapeOutcome& choice, bool full,
                                                      v1::Decision* d) {
  const v1::Policy& policy = scope.policy;
  const CompiledBuilder& cb = scope.builders[choice.chosen];
  const v1::BuilderSpec& spec = *cb.spec;
  const BuilderEvaluation& ev = cb.table[shape.index];
  const v1::RunProfile& profile = spec.profiles(ev.profile);
  const v1::Builder b = spec.builder();
  d->set_builder(b);
  d->set_step_type(spec.step_type());
  SetText(d->mutable_harness_step_type(), HarnessStepType(spec.step_type(), p.destination));
  SetText(d->mutable_profile(), profile.name());
  d->set_privileged(ev.security.privileged);
  d->set_run_as_user(ev.security.uid);
  d->set_required_pod_security(ev.satisfied_pss);

  auto message = [full](absl::string_view text) { return full ? text : absl::string_view(); };
  AddReason(d, choice.why, b,
            message(choice.why == v1::CHOSEN_AS_REQUESTED  ? cb.chosen_as_requested_message
                    : choice.why == v1::CHOSEN_FOR_CACHING ? cb.chosen_for_caching_message
                                                           : cb.chosen_by_preference_message));
  if (choice.why != v1::CHOSEN_AS_REQUESTED && choice.requested >= 0) {
    const CompiledBuilder& requested = scope.builders[choice.requested];
    AddReason(d, v1::REQUEST_OVERRIDDEN, requested.spec->builder(),
              message(requested.request_overridden_message));
  }
  if (p.is_plugin && spec.step_type() != v1::STEP_TYPE_PLUGIN) {
    // Rare (a Plugin step running plugins/kaniko), so the message is made here.
    AddReason(d, v1::RUNS_AS_BUILD_AND_PUSH, b,
              full ? absl::StrCat("the Plugin step runs ", p.image.catalog_repository, "; Harness "
                                  "runs ", spec.display_name(), " through its ",
                                  d->harness_step_type(), " step, which the decision uses")
                   : std::string());
  }
  AddReason(d, ev.security.uid == 0 ? v1::RUNS_AS_ROOT_ON_STEP : v1::RUNS_AS_NON_ROOT, b,
            message(cb.runs_as_message[ev.profile]));
  AddReason(d, ev.security.privileged ? v1::RUNS_PRIVILEGED : v1::RUNS_UNPRIVILEGED, b,
            message(cb.privileged_message[ev.profile]));

  if (spec.step_type() == v1::STEP_TYPE_PLUGIN) {
    ChoosePluginImage(cb, policy, p, shape, /*on_linux=*/true, d);  // Pins on Linux.
    AddPluginSettings(step, p, d);
  } else {
    SetText(d->mutable_image(), cb.image_repository[p.destination]);
  }
  if (step.caching()) {
    if (spec.caching().supported()) {
      const v1::Knob& k = spec.caching().knob();
      AddSetting(d, k.scope(), k.name(), k.value());
    } else {
      AddReason(d, v1::CACHING_UNAVAILABLE, b, cb.caching_unavailable_message);
    }
  }
  if (step.dry_run()) {
    const v1::Knob& k = spec.dry_run().knob();
    AddSetting(d, k.scope(), k.name(), k.value());
    AddReason(d, v1::DRY_RUN_CONFIGURED, b, cb.dry_run_configured_message);
  }
  AddChanges(policy, step, p, cb, ev, d);
  d->set_verdict(d->changes().empty() ? v1::VERDICT_ALLOW : v1::VERDICT_ALLOW_WITH_CHANGES);
}

// ---- Off Kubernetes: Harness runs the build on a machine it manages (a
// Harness Cloud VM, a pool VM, a runner's Docker daemon). No Kubernetes rule
// or change applies (builder choice, root, privileged, runAsUser, security
// context, caching); the step checks that apply everywhere have run, and the
// plugin image and dry-run rules apply here.

// The builder Harness runs the step with: a Build and Push step's from the
// catalog's facts about where it runs, a Plugin step's from its image.
const CompiledBuilder* OffKubernetesBuilder(const CompiledScope& scope, const v1::BuildStep& step,
                                            const Proposal& p, const Placement& where) {
  const v1::OsSupport& os = *where.support;
  const bool caching = step.caching() && os.build_and_push_with_caching() != v1::BUILDER_UNSPECIFIED;
  const v1::Builder b = p.is_plugin ? p.builder
                        : caching   ? os.build_and_push_with_caching()
                                    : os.build_and_push();
  for (const CompiledBuilder& cb : scope.builders) {
    if (cb.spec->builder() == b) return &cb;
  }
  return nullptr;  // The catalog was validated: never.
}

// Fills `d` for a step off Kubernetes; false when it is denied.
bool FillOffKubernetes(const CompiledScope& scope, const v1::BuildStep& step, const Proposal& p,
                       const StepShape& shape, const Placement& where, bool full,
                       v1::Decision* d) {
  const CompiledBuilder* cb = OffKubernetesBuilder(scope, step, p, where);
  if (cb == nullptr) return false;
  const v1::BuilderSpec& spec = *cb->spec;
  const v1::Builder b = spec.builder();
  d->set_builder(b);
  const bool plugin = p.is_plugin;  // A Plugin step stays one: no builder switch.
  d->set_step_type(plugin ? v1::STEP_TYPE_PLUGIN : v1::STEP_TYPE_BUILD_AND_PUSH);
  SetText(d->mutable_harness_step_type(), HarnessStepType(d->step_type(), p.destination));
  if (full) {
    AddReason(d, v1::RUNS_OFF_KUBERNETES, b,
              absl::StrCat(
                  "the stage runs on ", PlacementName(where), ": Harness runs this ",
                  plugin ? absl::StrCat("Plugin step's ", spec.display_name(), " container")
                         : absl::StrCat("Build and Push step with ", spec.display_name(),
                                        b == where.support->build_and_push_with_caching() &&
                                                step.caching()
                                            ? " (Docker layer caching is on)"
                                            : ""),
                  " on the machine's own Docker daemon; Kubernetes rules (builders, root, "
                  "privileged, runAsUser, security context) do not apply there"));
  } else {
    AddReason(d, v1::RUNS_OFF_KUBERNETES, b, "");
  }
  if (step.requested_builder() != v1::BUILDER_UNSPECIFIED && step.requested_builder() != b) {
    AddReason(d, v1::REQUEST_OVERRIDDEN, step.requested_builder(),
              full ? absl::StrCat("Harness runs ", spec.display_name(), " here, not ",
                                  EnumName(step.requested_builder()))
                   : std::string());
  }
  bool allowed = true;
  if (plugin) {
    const bool on_linux = where.os == v1::OPERATING_SYSTEM_LINUX;
    if (spec.step_type() == v1::STEP_TYPE_PLUGIN) {
      allowed = ChoosePluginImage(*cb, scope.policy, p, shape, on_linux, d);
    } else {
      SetText(d->mutable_image(), step.image());  // A Build and Push builder's image, as run.
    }
    AddPluginSettings(step, p, d);
    if (d->image() != step.image()) AddChange(d, "spec.image", step.image(), d->image());
  } else {
    SetText(d->mutable_image(), cb->image_repository[p.destination]);
    if (step.caching() && spec.caching().supported()) {
      const v1::Knob& k = spec.caching().knob();
      AddSetting(d, k.scope(), k.name(), k.value());
    }
    if (step.caching() && where.support->build_and_push_with_caching() == v1::BUILDER_UNSPECIFIED) {
      AddReason(d, v1::CACHING_UNAVAILABLE, b,
                absl::StrCat("Docker layer caching is not available on ", PlacementName(where)));
      AddChange(d, "spec.caching", "true", "false");
    }
  }
  if (step.dry_run()) {
    // A Build and Push step builds without pushing as the infrastructure's
    // facts say; a Plugin step as its builder does.
    const v1::DryRunSupport& dry_run =
        plugin ? spec.dry_run() : where.support->build_and_push_dry_run();
    const auto& destinations = dry_run.destinations();
    if (std::find(destinations.begin(), destinations.end(), p.destination) ==
        destinations.end()) {
      AddReason(d, v1::DRY_RUN_UNSUPPORTED, b,
                absl::StrCat(plugin ? spec.display_name() : "a Build and Push step",
                             " cannot build without pushing to ", EnumName(p.destination),
                             " on ", PlacementName(where)));
      allowed = false;
    } else {
      AddSetting(d, dry_run.knob().scope(), dry_run.knob().name(), dry_run.knob().value());
      AddReason(d, v1::DRY_RUN_CONFIGURED, b,
                absl::StrCat("builds without pushing: ", dry_run.knob().name(), "=",
                             dry_run.knob().value()));
    }
  }
  if (!allowed) return false;
  d->set_verdict(d->changes().empty() ? v1::VERDICT_ALLOW : v1::VERDICT_ALLOW_WITH_CHANGES);
  return true;
}

absl::Status CheckOrg(const CompiledPolicySet& set, const v1::BuildStep& step) {
  if (step.org_id().empty() || step.org_id() == set.org_id()) return absl::OkStatus();
  return InvalidField("step.org_id", absl::StrCat(QuoteInput(step.org_id()),
                                                  " does not match the policy set's org ",
                                                  QuoteInput(set.org_id())));
}

// The stages every question about a step starts with: validate, check the
// org, find the scope and resolve the proposal (`p` views into `step`).
absl::StatusOr<const CompiledScope*> ResolveStep(const CompiledPolicySet& set,
                                                 const v1::BuildStep& step, Proposal* p) {
  BG_RETURN_IF_ERROR(ValidateStep(step));
  BG_RETURN_IF_ERROR(CheckOrg(set, step));
  const CompiledScope& scope = set.ScopeFor(step.project_id(), step.pipeline_id());
  BG_RETURN_IF_ERROR(ResolveProposal(set.catalog_data(), scope.policy, step, p));
  return &scope;
}

// Decide, leaving the resolved proposal in `p` (for DecidePluginStep).
absl::Status DecideResolving(const CompiledPolicySet& set, const v1::BuildStep& step,
                             v1::Decision* out, v1::DecisionView view, Proposal& p) {
  const bool full = view != v1::DECISION_VIEW_BASIC;
  out->Clear();  // Keeps allocated sub-messages and string capacity for reuse.
  BG_ASSIGN_OR_RETURN(const CompiledScope* resolved, ResolveStep(set, step, &p));
  const CompiledScope& scope = *resolved;
  const StepShape shape = ShapeOf(step, p);
  SetText(out->mutable_policy_revision(), scope.revision);
  SetText(out->mutable_policy_fingerprint(), set.fingerprint());
  SetText(out->mutable_policy_scope(), scope.name);
  const Placement& where = set.catalog_data().PlacementOf(step.infrastructure());
  out->set_infrastructure(where.type);
  out->set_os(where.os);

  const bool step_denied =
      StepChecksDeny(set.catalog_data().catalog, scope.policy, step, p, where, out);
  if (!where.infrastructure->kubernetes()) {
    if (step_denied || !FillOffKubernetes(scope, step, p, shape, where, full, out)) {
      out->set_verdict(v1::VERDICT_DENY);
    } else if (full) {
      RenderStepYaml(step, *out, p, out->mutable_step_yaml());
      RenderStageVariablesYaml(*out, out->mutable_stage_variables_yaml());
    }
    ApplyView(view, out);
    return absl::OkStatus();
  }
  std::unique_ptr<ShapeOutcome> fresh;  // When not memoized.
  const ShapeOutcome& outcome = ShapeOutcomeFor(scope, step, p, shape, &fresh);
  if (full) {
    for (const v1::RejectedBuilder& rb : outcome.rejected_builders) {
      *out->add_rejected_builders() = rb;
    }
  }
  if (step_denied || outcome.chosen < 0) {
    Deny(scope, p, outcome, full, out);
  } else {
    FillDecision(scope, step, p, shape, outcome, full, out);
    if (full) {
      RenderStepYaml(step, *out, p, out->mutable_step_yaml());
      RenderStageVariablesYaml(*out, out->mutable_stage_variables_yaml());
    }
  }
  ApplyView(view, out);  // The reasons' messages.
  return absl::OkStatus();
}

}  // namespace

absl::Status Decide(const CompiledPolicySet& set, const v1::BuildStep& step, v1::Decision* out,
                    v1::DecisionView view) {
  Proposal p;
  return DecideResolving(set, step, out, view, p);
}

absl::Status DecidePluginStep(const CompiledPolicySet& set, const v1::BuildStep& step,
                              v1::Decision* out, bool* builder_plugin) {
  Proposal p;
  const absl::Status status = DecideResolving(set, step, out, v1::DECISION_VIEW_FULL, p);
  if (p.is_plugin) {
    // The image was matched to the catalog (matched or not, it was once).
    *builder_plugin = !p.image.catalog_repository.empty();
  } else {
    // Refused before the image was looked at (a step that does not validate).
    *builder_plugin = IsBuilderPluginStep(set, step);
  }
  if (!status.ok()) out->Clear();
  return status;
}

absl::StatusOr<bool> BuilderAdmissible(const CompiledPolicySet& set, const v1::BuildStep& step,
                                       v1::Builder builder) {
  static_assert(v1::Builder_ARRAYSIZE <= 32, "ShapeOutcome::admissible_builders is 32 bits");
  if (builder == v1::BUILDER_UNSPECIFIED || !v1::Builder_IsValid(builder))
    return InvalidField("builder", "a builder of the catalog is required");
  Proposal p;
  BG_ASSIGN_OR_RETURN(const CompiledScope* scope, ResolveStep(set, step, &p));
  std::unique_ptr<ShapeOutcome> fresh;
  const ShapeOutcome& outcome = ShapeOutcomeFor(*scope, step, p, ShapeOf(step, p), &fresh);
  return (outcome.admissible_builders >> builder) & 1;
}

void ApplyView(v1::DecisionView view, v1::Decision* d) {
  if (view != v1::DECISION_VIEW_BASIC) return;
  for (v1::Reason& r : *d->mutable_reasons()) r.clear_message();
  d->clear_rejected_builders();
  d->clear_remediations();
  d->clear_step_yaml();
  d->clear_stage_variables_yaml();
}

bool IsBuilderPluginStep(const CompiledPolicySet& set, const v1::BuildStep& step) {
  return IsBuilderPluginImage(set.catalog_data(),
                              set.EffectivePolicy(step.project_id(), step.pipeline_id()),
                              step.image());
}

}  // namespace buildgate
