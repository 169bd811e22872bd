#include "lint/lint.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/input_error.h"
#include "common/status.h"
#include "engine/decide.h"
#include "engine/enum_names.h"
#include "grammar/expression.h"
#include "grammar/reference.h"

namespace buildgate::lint {
namespace {

using pipeline::BuildKind;
using pipeline::FoundBuild;

v1::SourceLocation LocationOf(absl::string_view file, const pipeline::Location& at) {
  v1::SourceLocation loc;
  loc.set_file(std::string(file));
  loc.set_line(at.line);
  loc.set_column(at.column);
  loc.set_yaml_path(at.yaml_path);
  return loc;
}

absl::Status Located(absl::string_view file, const pipeline::Location& at,
                     const absl::Status& status) {
  return LocatedError(file, at.line, at.column, at.yaml_path, status.message());
}

void AddNote(v1::Finding* f, v1::ReasonCode code, std::string message) {
  v1::Reason* r = f->add_notes();
  r->set_code(code);
  r->set_message(std::move(message));
}

void AddChange(v1::Finding* f, absl::string_view field, absl::string_view proposed,
               absl::string_view required) {
  v1::Change* c = f->add_changes();
  c->set_field(std::string(field));
  c->set_proposed(std::string(proposed));
  c->set_required(std::string(required));
}

v1::Change* FindChange(v1::Finding* f, absl::string_view field) {
  for (v1::Change& c : *f->mutable_changes()) {
    if (c.field() == field) return &c;
  }
  return nullptr;
}

// "Buildah (Plugin plugins/buildah-docker:1.1.0-linux-amd64), privileged,
// runAsUser 1000".
std::string Describe(const v1::Decision& d) {
  std::string out = absl::StrCat(EnumName(d.builder()), " as ", d.harness_step_type());
  if (!d.image().empty() && d.step_type() == v1::STEP_TYPE_PLUGIN) {
    absl::StrAppend(&out, " ", d.image());
  }
  if (d.has_privileged()) absl::StrAppend(&out, d.privileged() ? ", privileged" : ", unprivileged");
  if (d.has_run_as_user()) absl::StrAppend(&out, ", runAsUser ", d.run_as_user());
  return out;
}

// What the caller sees of a decision; the alternatives of an unknown value
// must agree on it for the decision to stand.
std::string Outcome(const v1::Decision& d) {
  if (d.verdict() == v1::VERDICT_DENY) return "denied";
  return Describe(d);
}

// The reason that best names a decision as a finding: a step-level finding
// (plaintext password, registry, image tag), else the reason behind the
// first change, else the first reason.
v1::ReasonCode MainReason(const v1::Decision& d) {
  auto has = [&](v1::ReasonCode code) {
    for (const v1::Reason& r : d.reasons()) {
      if (r.code() == code) return true;
    }
    return false;
  };
  if (d.verdict() != v1::VERDICT_ALLOW) {
    // A deny's own reasons start at the rejections (BUILDER_NOT_ALLOWED);
    // where a build runs (RUNS_OFF_KUBERNETES) is no finding.
    const v1::ReasonCode first_finding =
        d.verdict() == v1::VERDICT_DENY ? v1::BUILDER_NOT_ALLOWED : v1::PLUGIN_IMAGE_UNTAGGED;
    for (const v1::Reason& r : d.reasons()) {
      if (r.code() >= first_finding && r.code() != v1::RUNS_OFF_KUBERNETES) return r.code();
    }
    if (d.verdict() == v1::VERDICT_DENY) return v1::NO_ADMISSIBLE_BUILDER;
    for (const v1::Change& c : d.changes()) {
      std::vector<v1::ReasonCode> candidates;
      if (c.field() == "builder" || c.field() == "type") {
        candidates = {v1::REQUEST_OVERRIDDEN, v1::RUNS_AS_BUILD_AND_PUSH, v1::CHOSEN_FOR_CACHING,
                      v1::CHOSEN_BY_PREFERENCE};
      } else if (c.field() == "spec.image") {
        candidates = {v1::PLUGIN_IMAGE_PINNED};
      } else if (c.field() == "spec.privileged") {
        candidates = {d.privileged() ? v1::RUNS_PRIVILEGED : v1::RUNS_UNPRIVILEGED};
      } else if (c.field() == "spec.runAsUser") {
        candidates = {v1::RUNS_AS_NON_ROOT, v1::RUNS_AS_ROOT_ON_STEP};
      } else if (c.field() == "spec.caching") {
        candidates = {v1::CACHING_UNAVAILABLE};
      }
      for (v1::ReasonCode code : candidates) {
        if (has(code)) return code;
      }
    }
  }
  return d.reasons_size() > 0 ? d.reasons(0).code() : v1::CHOSEN_BY_PREFERENCE;
}

// An undecidable finding: verdict unset.
void Undecidable(v1::Finding* f, v1::ReasonCode rule, std::string message) {
  f->set_verdict(v1::VERDICT_UNSPECIFIED);
  f->set_rule(rule);
  f->set_message(std::move(message));
}

// Lint's one way to decide: the engine's decision on `step`, or its refusal
// (the step is no input the engine can decide; the message says why).
absl::StatusOr<v1::Decision> DecideStep(const CompiledPolicySet& set, const v1::BuildStep& step) {
  v1::Decision decision;
  BG_RETURN_IF_ERROR(Decide(set, step, &decision));
  return decision;
}

// DecideStep for a found Plugin step: the image is matched to the catalog
// once, and `*builder_plugin` says whether it is a builder plugin.
absl::StatusOr<v1::Decision> DecidePlugin(const CompiledPolicySet& set, const v1::BuildStep& step,
                                          bool* builder_plugin) {
  v1::Decision decision;
  BG_RETURN_IF_ERROR(DecidePluginStep(set, step, &decision, builder_plugin));
  return decision;
}

// A value the decision may depend on that is unknown: the step with each
// value it can take.
struct Alternative {
  std::string field;
  std::string expression;
  std::vector<std::pair<std::string, v1::BuildStep>> steps;  // "true" -> step.
};

std::vector<Alternative> Alternatives(const FoundBuild& b) {
  std::vector<Alternative> out;
  for (const pipeline::Unresolved& u : b.unresolved) {
    Alternative alt{u.field, u.value, {}};
    if (u.kind == pipeline::UnknownValue::kDryRun || u.kind == pipeline::UnknownValue::kCaching) {
      for (bool value : {false, true}) {
        v1::BuildStep step = b.build_step;
        if (u.kind == pipeline::UnknownValue::kCaching) {
          step.set_caching(value);
        } else {
          step.set_dry_run(value);
        }
        alt.steps.emplace_back(value ? "true" : "false", std::move(step));
      }
    } else if (u.kind == pipeline::UnknownValue::kArch) {
      for (v1::Arch arch : {v1::ARCH_AMD64, v1::ARCH_ARM64}) {
        v1::BuildStep step = b.build_step;
        step.set_arch(arch);
        alt.steps.emplace_back(arch == v1::ARCH_AMD64 ? "amd64" : "arm64", std::move(step));
      }
    } else if (u.kind == pipeline::UnknownValue::kInfrastructure) {
      // Every infrastructure a stage can build on, each as it is described
      // when it stands alone (a Kubernetes stage's context is not known).
      for (int type = v1::INFRASTRUCTURE_TYPE_UNSPECIFIED + 1; type <= v1::InfrastructureType_MAX;
           ++type) {
        v1::BuildStep step = b.build_step;
        step.mutable_infrastructure()->set_type(static_cast<v1::InfrastructureType>(type));
        alt.steps.emplace_back(
            EnumName(static_cast<v1::InfrastructureType>(type)), std::move(step));
      }
    } else if (u.kind == pipeline::UnknownValue::kOs) {
      for (int os = v1::OPERATING_SYSTEM_UNSPECIFIED + 1; os <= v1::OperatingSystem_MAX; ++os) {
        v1::BuildStep step = b.build_step;
        step.mutable_infrastructure()->set_os(static_cast<v1::OperatingSystem>(os));
        alt.steps.emplace_back(EnumName(static_cast<v1::OperatingSystem>(os)), std::move(step));
      }
    } else {
      continue;
    }
    out.push_back(std::move(alt));
  }
  return out;
}

// Step fields holding <+input> must be set to what the decision requires;
// infrastructure fields likewise where the policy constrains them.
void RequireLiterals(const CompiledPolicySet& set, const FoundBuild& b, v1::Finding* f) {
  const v1::Decision& d = f->decision();
  const v1::Policy& policy =
      set.EffectivePolicy(b.build_step.project_id(), b.build_step.pipeline_id());
  for (const pipeline::Unresolved& u : b.unresolved) {
    std::string required;
    if (u.field == "spec.privileged" && d.step_type() == v1::STEP_TYPE_PLUGIN) {
      required = d.privileged() ? "true" : "false";
    } else if (u.field == "spec.runAsUser" && d.has_run_as_user()) {
      required = absl::StrCat(d.run_as_user());
    } else if (u.field == "infrastructure.containerSecurityContext.privileged" &&
               policy.privileged() == v1::PRIVILEGED_FORBIDDEN) {
      required = "false";
    }
    if (v1::Change* c = FindChange(f, u.field)) {
      c->set_proposed(u.value);
    } else if (!required.empty()) {
      AddChange(f, u.field, u.value, required);
    }
  }
}

// Stage variables the decided builder needs (PLUGIN_DRY_RUN for the
// Buildah plugin) that the pipeline, stage or step group does not set to
// the value it needs. The step's own envVariables or settings do not
// count: the builder reads the stage variable, whatever else the step sets.
// A variable holding an expression is left to the runtime-input checks.
void RequireStageVariables(const FoundBuild& b, v1::Finding* f) {
  for (const v1::Setting& s : f->decision().settings()) {
    if (s.scope() != v1::ENV_SCOPE_STAGE_VARIABLE) continue;
    const auto it = b.scope_variables.find(s.name());
    if (it == b.scope_variables.end()) {
      AddChange(f, absl::StrCat("stage.variables.", s.name()), "", s.value());
    } else if (!ContainsHarnessExpression(it->second) &&
               !absl::EqualsIgnoreCase(it->second, s.value())) {
      AddChange(f, absl::StrCat("stage.variables.", s.name()), it->second, s.value());
    }
  }
}

// A build in a template file: its <+input> values are the template's
// inputs. Added once the finding is made, so it never names its rule.
void AddTemplateNote(const FoundBuild& b, v1::Finding* f) {
  if (b.from_template.empty()) return;
  AddNote(f, v1::RUNTIME_INPUT,
          absl::StrCat("in ", b.from_template,
                       ", not a pipeline: values holding <+input> are the template's inputs, "
                       "given by each pipeline that uses it"));
}

void AddPipelineNotes(const FoundBuild& b, v1::Finding* f) {
  if (!b.matrix_scopes.empty()) {
    AddNote(f, v1::MATRIX_STRATEGY,
            absl::StrCat("runs under strategy.matrix (", absl::StrJoin(b.matrix_scopes, ", "),
                         b.matrix_over_bound
                             ? absl::StrCat(") with more than ", pipeline::kMaxMatrixCombinations,
                                            " combinations: decided once for all of them")
                             : "): decided once for every combination",
                         "; <+matrix.*> values are unknown"));
  }
  if (!b.unresolved.empty()) {
    std::vector<std::string> fields;
    for (const pipeline::Unresolved& u : b.unresolved) {
      fields.push_back(absl::StrCat(u.field, " = ", u.value));
    }
    AddNote(f, v1::RUNTIME_INPUT,
            absl::StrCat("known only when the pipeline runs: ", absl::StrJoin(fields, "; ")));
  }
  for (const pipeline::Unresolved& id : b.invalid_identifiers) {
    const std::string fixed = pipeline::SanitizeHarnessIdentifier(id.value);
    AddNote(f, v1::HARNESS_IDENTIFIER_INVALID,
            absl::StrCat(id.field, " ", QuoteInput(id.value),
                         " is not a Harness identifier (letters, digits, _ and $); use ",
                         fixed));
    AddChange(f, id.field, id.value, fixed);
  }
}

// A build that cannot be decided from the document: the build step read, the
// rule and why, and the pipeline notes.
void UndecidableBuild(const FoundBuild& b, v1::ReasonCode rule, std::string message,
                      v1::Finding* f) {
  *f->mutable_step() = b.build_step;
  Undecidable(f, rule, std::move(message));
  AddPipelineNotes(b, f);
}

// A build the engine refused to decide (`refusal`: a value of the step it
// cannot use): a finding on the step, so the rest of the file is decided.
void InvalidStepValue(const FoundBuild& b, const absl::Status& refusal, v1::Finding* f) {
  UndecidableBuild(b, v1::INVALID_STEP_VALUE,
                   absl::StrCat("the step cannot be decided: ", refusal.message()), f);
}

// A decided build (Build and Push, or a builder Plugin step), from the
// engine's `decision` on it.
absl::Status LintDecided(const CompiledPolicySet& set, const FoundBuild& b, v1::Decision decision,
                         absl::string_view file, v1::Finding* f) {
  *f->mutable_step() = b.build_step;
  v1::Decision* d = f->mutable_decision();
  *d = std::move(decision);
  for (const Alternative& alt : Alternatives(b)) {
    std::vector<std::string> outcomes;
    bool differ = false;
    for (const auto& [value, step] : alt.steps) {
      absl::StatusOr<v1::Decision> other = DecideStep(set, step);
      if (!other.ok()) return Located(file, b.location, other.status());
      outcomes.push_back(absl::StrCat(value, ": ", Outcome(*other)));
      differ = differ || Outcome(*other) != Outcome(*d);
    }
    if (differ) {
      UndecidableBuild(b, v1::RUNTIME_INPUT,
                       absl::StrCat("the decision depends on ", alt.field, " = ", alt.expression,
                                    ", known only when the pipeline runs (",
                                    absl::StrJoin(outcomes, "; "),
                                    "); set it to a literal value"),
                       f);
      return absl::OkStatus();
    }
  }
  *f->mutable_changes() = d->changes();
  AddPipelineNotes(b, f);
  if (d->verdict() != v1::VERDICT_DENY) {
    RequireLiterals(set, b, f);
    RequireStageVariables(b, f);
  }
  const v1::Verdict verdict = d->verdict() == v1::VERDICT_DENY ? v1::VERDICT_DENY
                              : f->changes_size() > 0          ? v1::VERDICT_ALLOW_WITH_CHANGES
                                                               : v1::VERDICT_ALLOW;
  f->set_verdict(verdict);
  if (verdict == d->verdict() || f->notes_size() == 0) {
    f->set_rule(MainReason(*d));
  } else {
    f->set_rule(f->notes(f->notes_size() - 1).code());
  }
  switch (verdict) {
    case v1::VERDICT_ALLOW:
      f->set_message(absl::StrCat("complies: ", Describe(*d)));
      break;
    case v1::VERDICT_ALLOW_WITH_CHANGES:
      f->set_message(absl::StrCat(f->changes_size(),
                                  f->changes_size() == 1 ? " change" : " changes",
                                  " needed: ", Describe(*d)));
      break;
    default: {
      std::string why;
      for (const v1::Reason& r : d->reasons()) {
        if (r.code() == f->rule()) why = r.message();
      }
      if (why.empty() && d->reasons_size() > 0) why = d->reasons(0).message();
      f->set_message(absl::StrCat("denied: ", why));
    }
  }
  return absl::OkStatus();
}

// A Run step building an image itself: decided (`decision`) as the governed
// step that should replace it.
void LintUnmanaged(const CompiledPolicySet& set, const FoundBuild& b, v1::Decision decision,
                   v1::Finding* f) {
  *f->mutable_step() = b.build_step;
  v1::Decision* d = f->mutable_decision();
  *d = std::move(decision);
  f->set_rule(v1::UNMANAGED_BUILD);
  std::string how = absl::StrCat("runs `", b.build_command, "`");
  if (!b.dind_step_id.empty()) {
    absl::StrAppend(&how, " against the docker:dind Background step ", b.dind_step_id,
                    b.dind_privileged ? " (privileged)" : "");
    const v1::Policy& policy =
        set.EffectivePolicy(b.build_step.project_id(), b.build_step.pipeline_id());
    // A Kubernetes rule: off Kubernetes the daemon is the machine's.
    if (b.dind_privileged && policy.privileged() == v1::PRIVILEGED_FORBIDDEN &&
        d->infrastructure() == v1::INFRASTRUCTURE_TYPE_KUBERNETES) {
      AddNote(f, v1::PRIVILEGED_NOT_ALLOWED,
              absl::StrCat("the Background step ", b.dind_step_id,
                           " runs privileged; the policy forbids privileged containers"));
    }
  }
  AddPipelineNotes(b, f);
  if (d->verdict() == v1::VERDICT_DENY) {
    f->set_verdict(v1::VERDICT_DENY);
    // The real reason the governed step would be denied (the registry, the
    // credentials, the platform, or no admissible builder).
    f->set_message(absl::StrCat("Run step ", how,
                                ": an image build no policy governs, and the step that would "
                                "govern it is denied: ",
                                d->reasons_size() > 0 ? d->reasons(0).message()
                                                      : "the policy allows no builder for it"));
    return;
  }
  f->set_verdict(v1::VERDICT_ALLOW_WITH_CHANGES);
  AddChange(f, "type", "Run", d->harness_step_type());
  f->set_message(absl::StrCat("Run step ", how,
                              ": an image build no policy governs; replace it with ",
                              Describe(*d)));
}

// True when an image name (no tag or digest) ends with a catalog image
// repository ("harbor.example/proxy/plugins/buildah-docker"): a builder
// image pulled from somewhere the policy does not name.
bool LooksLikeBuilderPlugin(const CompiledPolicySet& set, absl::string_view name) {
  for (const v1::BuilderSpec& spec : set.catalog().builders()) {
    for (const v1::DestinationImage& di : spec.images()) {
      if (absl::EndsWith(name, absl::StrCat("/", di.repository()))) return true;
    }
  }
  return false;
}

// The catalog's word for an image builder that `image` holds ("kaniko" in
// gcr.io/kaniko-project/executor:v1.23, "dind" in docker:27-dind), or "".
// The digest is not read: its hex could spell anything.
absl::string_view ImageBuilderWord(const CompiledPolicySet& set, absl::string_view image) {
  const std::string lower = absl::AsciiStrToLower(image.substr(0, image.find('@')));
  for (const std::string& word : set.catalog().build_image_words()) {
    if (absl::StrContains(lower, word)) return word;
  }
  return absl::string_view();
}

// A step that looks like an image build but is none buildgate can decide.
void UnrecognisedBuild(const FoundBuild& b, std::string message, v1::Finding* f) {
  UndecidableBuild(b, v1::UNRECOGNISED_BUILD, std::move(message), f);
}

// A Plugin step the engine refused to decide (`refusal`). When its image is
// a builder plugin the refusal is the lint error; else it may be an image
// builder buildgate cannot place (a finding), or no build at all
// (`*is_build` false: Slack, S3 upload, ...).
absl::Status LintRefusedPlugin(const CompiledPolicySet& set, const FoundBuild& b,
                               const absl::Status& refusal, bool builder_plugin,
                               absl::string_view file, v1::Finding* f, bool* is_build) {
  if (builder_plugin) {
    InvalidStepValue(b, refusal, f);
    return absl::OkStatus();
  }
  // An image whose repository holds an expression (all of it, as <+input>,
  // or part, as plugins/buildah-<+matrix.dest>) may be a builder plugin or
  // not.
  const absl::string_view name = ImageNameOf(b.build_step.image());
  if (ContainsHarnessExpression(name)) {
    UndecidableBuild(b, v1::RUNTIME_INPUT,
                     absl::StrCat("the Plugin step's image ", QuoteInput(name),
                                  " holds an expression, known only when the pipeline "
                                  "runs: buildgate cannot tell whether it builds an image"),
                     f);
    return absl::OkStatus();
  }
  // A builder plugin from a registry the policy does not list as a mirror
  // (the engine's refusal says which mirror to list), or an image builder
  // the catalog does not hold: a finding, never silence.
  if (LooksLikeBuilderPlugin(set, name)) {
    UnrecognisedBuild(b, absl::StrCat("the Plugin step runs a builder image buildgate cannot "
                                      "place: ", refusal.message()),
                      f);
    return absl::OkStatus();
  }
  if (const absl::string_view word = ImageBuilderWord(set, b.build_step.image()); !word.empty()) {
    UnrecognisedBuild(b, absl::StrCat("the Plugin step runs ", QuoteInput(b.build_step.image()),
                                      ", an image builder (", word,
                                      ") that is not in the builder catalog: buildgate "
                                      "cannot decide it"),
                      f);
    return absl::OkStatus();
  }
  *is_build = false;
  return absl::OkStatus();
}

// `step` with each <+matrix.AXIS> replaced by `combination`'s value.
v1::BuildStep WithMatrixValues(const v1::BuildStep& step,
                               const std::map<std::string, std::string>& combination) {
  std::vector<std::pair<std::string, std::string>> replacements;
  for (const auto& [axis, value] : combination) {
    replacements.emplace_back(absl::StrCat("<+matrix.", axis, ">"), value);
  }
  auto fill = [&](std::string* field) { *field = absl::StrReplaceAll(*field, replacements); };
  v1::BuildStep out = step;
  for (std::string* field :
       {out.mutable_image(), out.mutable_repo(), out.mutable_registry(), out.mutable_dockerfile(),
        out.mutable_context(), out.mutable_connector_ref(),
        out.mutable_credentials()->mutable_username()}) {
    fill(field);
  }
  for (std::string& tag : *out.mutable_tags()) fill(&tag);
  return out;
}

std::string CombinationName(const std::map<std::string, std::string>& combination) {
  std::vector<std::string> parts;
  for (const auto& [axis, value] : combination) parts.push_back(absl::StrCat(axis, "=", value));
  return absl::StrJoin(parts, ", ");
}

// How serious a finding is, to pick the one a matrix build reports.
int Seriousness(const v1::Finding& f) {
  switch (f.verdict()) {
    case v1::VERDICT_DENY:
      return 3;
    case v1::VERDICT_UNSPECIFIED:  // Undecidable.
      return 2;
    case v1::VERDICT_ALLOW_WITH_CHANGES:
      return 1;
    default:
      return 0;
  }
}

absl::Status LintBuild(const CompiledPolicySet& set, const FoundBuild& b, absl::string_view file,
                       v1::Finding* f, bool* is_build);

// A build under matrices written out in the file: decided for each
// combination. When they all come out the same the finding is theirs, with
// a note; else it is the most serious one's and the note lists each. Its
// changes are offered only when every combination needs the very same
// edits (one edit of the YAML serves them all).
absl::Status LintMatrixBuild(const CompiledPolicySet& set, const FoundBuild& b,
                             absl::string_view file, v1::Finding* f, bool* is_build) {
  std::vector<v1::Finding> each(b.matrix_combinations.size());
  std::vector<std::string> outcomes;  // "axis=value, ...: outcome"
  std::string first_outcome;          // The first combination's, without its values.
  bool outcomes_differ = false;       // Verdict, rule or what runs.
  bool edits_differ = false;          // The changes, or the step a type change writes.
  int worst = 0;
  *is_build = false;
  for (std::size_t i = 0; i < b.matrix_combinations.size(); ++i) {
    FoundBuild one = b;
    one.build_step = WithMatrixValues(b.build_step, b.matrix_combinations[i]);
    one.matrix_combinations.clear();
    one.matrix_scopes.clear();  // The note is this function's.
    bool builds = false;
    BG_RETURN_IF_ERROR(LintBuild(set, one, file, &each[i], &builds));
    *is_build = *is_build || builds;
    // What the combination decides: its rule and, when decided, what runs.
    const std::string outcome =
        absl::StrCat(v1::ReasonCode_Name(each[i].rule()),
                     each[i].has_decision() ? absl::StrCat(" ", Outcome(each[i].decision())) : "");
    outcomes.push_back(absl::StrCat(CombinationName(b.matrix_combinations[i]), ": ", outcome));
    if (i == 0) first_outcome = outcome;
    if (i > 0) {
      const v1::Finding& first = each[0];
      outcomes_differ =
          outcomes_differ || each[i].verdict() != first.verdict() || outcome != first_outcome;
      edits_differ = edits_differ || each[i].changes_size() != first.changes_size() ||
                     each[i].decision().step_yaml() != first.decision().step_yaml();
      for (int c = 0; !edits_differ && c < each[i].changes_size(); ++c) {
        edits_differ = each[i].changes(c).SerializeAsString() != first.changes(c).SerializeAsString();
      }
    }
    if (Seriousness(each[i]) > Seriousness(each[worst])) worst = static_cast<int>(i);
  }
  if (!*is_build) return absl::OkStatus();
  *f = std::move(each[outcomes_differ ? worst : 0]);
  const std::string scopes = absl::StrJoin(b.matrix_scopes, ", ");
  const bool with_changes = f->changes_size() > 0;
  if (edits_differ || outcomes_differ) f->clear_changes();
  if (outcomes_differ) {
    f->set_rule(v1::MATRIX_STRATEGY);
    f->set_message(absl::StrCat("the matrix combinations (", scopes,
                                ") decide differently; the most serious: ", f->message()));
    AddNote(f, v1::MATRIX_STRATEGY,
            absl::StrCat("each of the ", b.matrix_combinations.size(),
                         " combinations: ", absl::StrJoin(outcomes, "; ")));
  } else {
    AddNote(f, v1::MATRIX_STRATEGY,
            absl::StrCat("runs under strategy.matrix (", scopes, "): decided for each of its ",
                         b.matrix_combinations.size(), " combinations (",
                         absl::StrJoin(b.matrix_combinations.begin(), b.matrix_combinations.end(),
                                       "; ",
                                       [](std::string* out, const auto& c) {
                                         out->append(CombinationName(c));
                                       }),
                         "), all the same"));
  }
  if (with_changes && f->changes_size() == 0) {
    AddNote(f, v1::MATRIX_STRATEGY,
            "the changes depend on the combination: no fix is offered, make them by hand");
  }
  return absl::OkStatus();
}

// One build; `*is_build` false when it builds nothing (a Plugin step whose
// image is no builder plugin).
absl::Status LintBuild(const CompiledPolicySet& set, const FoundBuild& b, absl::string_view file,
                       v1::Finding* f, bool* is_build) {
  *is_build = true;
  *f->mutable_location() = LocationOf(file, b.location);
  f->set_stage_id(b.stage_id);
  f->set_step_id(b.step_id);
  f->set_step_name(b.step_name);
  f->set_harness_step_type(b.harness_type);
  for (const pipeline::Unresolved& u : b.unresolved) {
    v1::UnresolvedValue* v = f->add_unresolved();
    v->set_field(u.field);
    v->set_value(u.value);
  }
  if (b.kind == BuildKind::kRunCommand && b.build_command.empty()) {
    // A Run step whose command builds nothing buildgate recognises: a build
    // all the same when its image is an image builder.
    const absl::string_view word = ImageBuilderWord(set, b.run_image);
    if (word.empty()) {
      *is_build = false;
      return absl::OkStatus();
    }
    UnrecognisedBuild(b, absl::StrCat("the Run step runs ", QuoteInput(b.run_image),
                                      ", an image builder (", word,
                                      "), with a command buildgate does not recognise as a "
                                      "build: it cannot decide it"),
                      f);
    return absl::OkStatus();
  }
  if (b.kind == BuildKind::kUnknownType) {
    UndecidableBuild(b, v1::RUNTIME_INPUT,
                     absl::StrCat("the step's type is ", b.harness_type,
                                  ", known only when the pipeline runs: buildgate cannot tell "
                                  "whether it builds an image"),
                     f);
    return absl::OkStatus();
  }
  if (!b.matrix_combinations.empty()) return LintMatrixBuild(set, b, file, f, is_build);
  // Decided once; a Plugin step's image is matched to the builder catalog
  // once, by the engine (DecidePluginStep).
  bool builder_plugin = false;
  absl::StatusOr<v1::Decision> decided = b.kind == BuildKind::kPlugin
                                             ? DecidePlugin(set, b.build_step, &builder_plugin)
                                             : DecideStep(set, b.build_step);
  if (!decided.ok()) {
    if (b.kind == BuildKind::kPlugin) {
      return LintRefusedPlugin(set, b, decided.status(), builder_plugin, file, f, is_build);
    }
    InvalidStepValue(b, decided.status(), f);
    return absl::OkStatus();
  }
  if (b.kind == BuildKind::kRunCommand) {
    LintUnmanaged(set, b, *std::move(decided), f);
    return absl::OkStatus();
  }
  return LintDecided(set, b, *std::move(decided), file, f);  // Build and Push, builder Plugin.
}

void LintTemplate(const pipeline::TemplateReference& t, absl::string_view file, v1::Finding* f) {
  *f->mutable_location() = LocationOf(file, t.location);
  f->set_stage_id(t.stage_id);
  if (t.level == "step") f->set_step_id(t.identifier);
  f->set_harness_step_type(t.level);
  Undecidable(f, v1::TEMPLATE_NOT_EXPANDED,
              absl::StrCat(t.level, " ", t.identifier, " uses template ",
                           t.template_ref.empty() ? "(no templateRef)" : t.template_ref,
                           ": its steps are not in this document; lint the expanded pipeline "
                           "(as the governance hook receives it) to decide them"));
}

}  // namespace

absl::StatusOr<LintResult> LintDocument(const CompiledPolicySet& set, absl::string_view text,
                                        absl::string_view file, const InputLimits& limits) {
  LintResult result;
  BG_ASSIGN_OR_RETURN(result.document, pipeline::ReadHarnessPipeline(text, file, limits));
  const pipeline::PipelineDocument& doc = result.document;
  // Builds and template references merged in document order.
  std::vector<std::pair<std::pair<int, int>, int>> order;  // ((line, column), index)
  for (std::size_t i = 0; i < doc.builds.size(); ++i) {
    order.push_back({{doc.builds[i].location.line, doc.builds[i].location.column},
                     static_cast<int>(i)});
  }
  for (std::size_t i = 0; i < doc.templates.size(); ++i) {
    order.push_back({{doc.templates[i].location.line, doc.templates[i].location.column},
                     -1 - static_cast<int>(i)});
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  v1::LintReport& report = result.report;
  report.set_steps_seen(doc.steps_seen);
  report.set_skipped(doc.skipped);
  for (const pipeline::DocumentSummary& summary : doc.documents) {
    v1::LintedDocument* d = report.add_documents();
    d->set_line(summary.line);
    d->set_what(summary.what);
    d->set_linted(summary.linted);
  }
  for (const auto& [pos, index] : order) {
    v1::Finding finding;
    if (index < 0) {
      LintTemplate(doc.templates[-1 - index], file, &finding);
    } else {
      bool is_build = false;
      BG_RETURN_IF_ERROR(LintBuild(set, doc.builds[index], file, &finding, &is_build));
      if (!is_build) continue;
      AddTemplateNote(doc.builds[index], &finding);
      report.set_builds(report.builds() + 1);
    }
    *report.add_findings() = std::move(finding);
    result.build_index.push_back(index);
  }
  return result;
}

absl::StatusOr<LintResult> JoinReport(absl::string_view text, absl::string_view file,
                                      v1::LintReport report, const InputLimits& limits) {
  LintResult result;
  BG_ASSIGN_OR_RETURN(result.document, pipeline::ReadHarnessPipeline(text, file, limits));
  result.report = std::move(report);
  for (const v1::Finding& f : result.report.findings()) {
    int index = -1;
    for (std::size_t i = 0; i < result.document.builds.size(); ++i) {
      if (result.document.builds[i].location.yaml_path == f.location().yaml_path()) {
        index = static_cast<int>(i);
        break;
      }
    }
    result.build_index.push_back(index);
  }
  return result;
}

Severity SeverityOf(const v1::Finding& f) {
  switch (f.verdict()) {
    case v1::VERDICT_ALLOW:
      return Severity::kCompliant;
    case v1::VERDICT_DENY:
      return Severity::kDenied;
    default:  // Changes needed, or undecidable: a human must look.
      return Severity::kNeedsChanges;
  }
}

}  // namespace buildgate::lint
