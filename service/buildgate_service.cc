#include "service/buildgate_service.h"

#include "lint/lint.h"
#include "lint/policy_diff.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "common/input_error.h"
#include "common/status.h"
#include "engine/decide.h"
#include "input/input_error_message.h"
#include "input/limits.h"
#include "lint/lint.h"
#include "service/grpc_status.h"

namespace buildgate {
namespace {

std::string RandomPrefix() {
  std::random_device rd;
  return absl::StrCat(absl::Hex(rd(), absl::kZeroPad8), absl::Hex(rd() & 0xffff, absl::kZeroPad4));
}

// "step.kind: required" -> "steps[3].kind: required".
absl::Status ForBatchItem(const absl::Status& status, int index) {
  if (absl::StartsWith(status.message(), "step.")) {
    return ReplaceFieldPrefix(status, "step.", absl::StrCat("steps[", index, "]."));
  }
  return WithField(status, absl::StrCat("steps[", index, "]"));
}

// A document's lint error under `policy` ("from", "to") as an error of the
// request field `at`: "documents[0]: from: x.yaml:3:46: ...", keeping the
// file, line and column.
absl::Status ForDocument(const absl::Status& status, const std::string& at,
                         absl::string_view policy) {
  InputLocation location = GetInputLocation(status);
  location.field = at;
  return SetInputLocation(InvalidField(at, absl::StrCat(policy, ": ", status.message())), location);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

BuildGateService::BuildGateService(Options options, PolicyStore* store, CompiledPolicyCache* cache,
                                   DecisionLog* log, ServiceMetrics* metrics)
    : options_(std::move(options)),
      store_(store),
      cache_(cache),
      log_(log),
      metrics_(metrics),
      id_prefix_(RandomPrefix()) {
  InstallProtobufLogCapture();  // Before the first request, not by it.
}

std::string BuildGateService::NextDecisionId() {
  return absl::StrCat(id_prefix_, "-", absl::Hex(next_id_.fetch_add(1) + 1, absl::kZeroPad8));
}

DecisionLogEntry BuildGateService::NewLogEntry(const std::string& caller, absl::string_view rpc) {
  DecisionLogEntry entry;
  entry.decision_id = NextDecisionId();
  entry.time = options_.clock();
  entry.caller = caller;
  entry.rpc = std::string(rpc);
  return entry;
}

std::string BuildGateService::Caller(const grpc::CallbackServerContext& ctx) {
  // A caller may name itself; otherwise the transport peer identifies it.
  const auto& md = ctx.client_metadata();
  auto it = md.find("x-buildgate-caller");
  std::string name;
  if (it != md.end()) {
    for (char c : absl::string_view(it->second.data(), std::min<std::size_t>(it->second.size(), 128))) {
      if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == '/' || c == ':' || c == '@') {
        name.push_back(c);
      }
    }
  }
  return name.empty() ? ctx.peer() : absl::StrCat(name, " (", ctx.peer(), ")");
}

absl::StatusOr<PolicyHandle> BuildGateService::ResolvePolicy(const v1::PolicySource& source) {
  switch (source.source_case()) {
    case v1::PolicySource::kOrgId: {
      if (source.org_id().empty()) return InvalidField("policy.org_id", "empty");
      PolicyHandle stored = store_->Lookup(source.org_id());
      if (!stored) {
        // Asked only on a miss: loaded() reads the shared snapshot pointer,
        // which the hit path (a per-thread copy) never touches.
        if (!store_->loaded()) return absl::UnavailableError("the policy store is still loading");
        return absl::NotFoundError(
            absl::StrCat("policy.org_id: no stored policy set for org ", QuoteInput(source.org_id())));
      }
      return stored;
    }
    case v1::PolicySource::kInlinePolicy: {
      if (!options_.allow_inline_policies) {
        return absl::PermissionDeniedError(
            "policy.inline_policy: inline policies are switched off on this server; name a stored "
            "policy set with policy.org_id");
      }
      auto compiled = cache_->LookupOrCompile(source.inline_policy());
      if (!compiled.ok()) {
        // The compile error names its field; nest it under policy.inline_policy.
        return WithFieldPrefix(
            SetInputLocation(absl::InvalidArgumentError(compiled.status().message()),
                             GetInputLocation(compiled.status())),
            "policy.inline_policy.");
      }
      return compiled;
    }
    case v1::PolicySource::kPolicyFingerprint: {
      if (!options_.allow_inline_policies) {
        return absl::PermissionDeniedError(
            "policy.policy_fingerprint: inline policies are switched off on this server");
      }
      PolicyHandle compiled = cache_->Lookup(source.policy_fingerprint());
      if (!compiled) {
        return absl::FailedPreconditionError(
            absl::StrCat("policy.policy_fingerprint: ", QuoteInput(source.policy_fingerprint()),
                         " is not cached on this server; resend the policy inline"));
      }
      return compiled;
    }
    default:
      return InvalidField("policy", "required (org_id, inline_policy or policy_fingerprint)");
  }
}

absl::Status BuildGateService::DecideOne(const CompiledPolicySet& set, const v1::BuildStep& step,
                                         v1::DecisionView view, v1::DecideResponse* response) {
  absl::Status status = buildgate::Decide(set, step, response->mutable_decision(), view);
  if (!status.ok()) response->clear_decision();
  return status;
}

absl::Status BuildGateService::HandleDecide(grpc::CallbackServerContext& ctx,
                                           const absl::Status& parsed,
                                           const v1::DecideRequest* request,
                                           v1::DecideResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  absl::Status status;
  if (!serving_.load()) {
    status = absl::UnavailableError("buildgated is not serving (starting or shutting down)");
  } else if (!parsed.ok()) {
    status = parsed;
  } else if (!request->has_step()) {
    status = InvalidField("step", "required");
  } else {
    auto compiled = ResolvePolicy(request->policy());
    status = compiled.ok() ? DecideOne(**compiled, request->step(), request->view(), response)
                           : compiled.status();
  }
  DecisionLogEntry entry = NewLogEntry(Caller(ctx), "Decide");
  if (parsed.ok()) entry.step = &request->step();
  entry.status = status;
  if (status.ok()) {
    response->set_decision_id(entry.decision_id);
    entry.decision = &response->decision();
  } else {
    response->Clear();
  }
  const double seconds = SecondsSince(start);
  entry.latency_us = static_cast<int64_t>(seconds * 1e6);
  if (status.ok()) {
    metrics_->RecordDecision(response->decision().verdict(), response->decision().builder(), seconds);
  }
  log_->Record(entry);
  return status;
}

absl::Status BuildGateService::HandleDecideBatch(grpc::CallbackServerContext& ctx,
                                                const absl::Status& parsed,
                                                const v1::DecideBatchRequest* request,
                                                v1::DecideBatchResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  absl::Status status;
  PolicyHandle compiled;
  if (!serving_.load()) {
    status = absl::UnavailableError("buildgated is not serving (starting or shutting down)");
  } else if (!parsed.ok()) {
    status = parsed;
  } else if (request->steps_size() == 0) {
    status = InvalidField("steps", "at least one step");
  } else if (request->steps_size() > kMaxBatchSize) {
    status = InvalidField("steps", absl::StrCat("at most ", kMaxBatchSize, " steps per batch, got ",
                                                request->steps_size()));
  } else {
    auto resolved = ResolvePolicy(request->policy());
    if (resolved.ok()) {
      compiled = *std::move(resolved);
    } else {
      status = resolved.status();
    }
  }
  for (int i = 0; status.ok() && i < request->steps_size(); ++i) {
    absl::Status s = DecideOne(*compiled, request->steps(i), request->view(), response->add_results());
    if (!s.ok()) status = ForBatchItem(s, i);
  }
  const std::string caller = Caller(ctx);
  const double seconds = SecondsSince(start);
  if (status.ok()) {
    const double per_step = seconds / request->steps_size();
    for (int i = 0; i < response->results_size(); ++i) {
      v1::DecideResponse* r = response->mutable_results(i);
      DecisionLogEntry entry = NewLogEntry(caller, "DecideBatch");
      r->set_decision_id(entry.decision_id);
      entry.step = &request->steps(i);
      entry.decision = &r->decision();
      entry.latency_us = static_cast<int64_t>(per_step * 1e6);
      metrics_->RecordDecision(r->decision().verdict(), r->decision().builder(), per_step);
      log_->Record(entry);
    }
  } else {
    response->Clear();  // No decision for an invalid batch.
    DecisionLogEntry entry = NewLogEntry(caller, "DecideBatch");
    entry.status = status;
    entry.latency_us = static_cast<int64_t>(seconds * 1e6);
    log_->Record(entry);
  }
  return status;
}

absl::Status BuildGateService::HandleValidatePolicy(grpc::CallbackServerContext&,
                                                   const absl::Status& parsed,
                                                   const v1::ValidatePolicyRequest* request,
                                                   v1::ValidatePolicyResponse* response) {
  BG_RETURN_IF_ERROR(parsed);
  if (!request->has_policy_set()) return InvalidField("policy_set", "required");
  auto compiled = CompiledPolicySet::Compile(request->policy_set());
  if (!compiled.ok()) {
    response->set_valid(false);
    const absl::Status error = WithFieldPrefix(compiled.status(), "policy_set.");
    response->set_error(std::string(error.message()));
    *response->mutable_error_detail() = InputErrorMessage(error);
  } else {
    response->set_valid(true);
    response->set_fingerprint((*compiled)->fingerprint());
    for (std::string& s : (*compiled)->ScopeNames()) response->add_scopes(std::move(s));
  }
  return absl::OkStatus();
}

absl::Status BuildGateService::HandleListPolicySets(grpc::CallbackServerContext&,
                                                   const absl::Status& parsed,
                                                   const v1::ListPolicySetsRequest*,
                                                   v1::ListPolicySetsResponse* response) {
  BG_RETURN_IF_ERROR(parsed);
  auto snapshot = store_->Snapshot();
  if (snapshot == nullptr) return absl::UnavailableError("the policy store is still loading");
  std::vector<const v1::PolicySetInfo*> infos;
  for (const auto& [org, stored] : snapshot->sets) infos.push_back(&stored.info);
  std::sort(infos.begin(), infos.end(),
            [](const auto* a, const auto* b) { return a->org_id() < b->org_id(); });
  for (const auto* info : infos) *response->add_policy_sets() = *info;
  return absl::OkStatus();
}

absl::Status BuildGateService::HandleGetPolicySet(grpc::CallbackServerContext&,
                                                 const absl::Status& parsed,
                                                 const v1::GetPolicySetRequest* request,
                                                 v1::GetPolicySetResponse* response) {
  BG_RETURN_IF_ERROR(parsed);
  absl::Status status;
  auto snapshot = store_->Snapshot();
  if (request->org_id().empty()) {
    status = InvalidField("org_id", "required");
  } else if (snapshot == nullptr) {
    status = absl::UnavailableError("the policy store is still loading");
  } else if (const StoredPolicySet* stored = snapshot->Find(request->org_id())) {
    *response->mutable_info() = stored->info;
    *response->mutable_policy_set() = stored->compiled->source();
  } else {
    status = absl::NotFoundError(
        absl::StrCat("org_id: no stored policy set for org ", QuoteInput(request->org_id())));
  }
  return status;
}

absl::Status BuildGateService::HandleGetServerStatus(grpc::CallbackServerContext&,
                                                    const absl::Status& parsed,
                                                    const v1::GetServerStatusRequest*,
                                                    v1::GetServerStatusResponse* response) {
  BG_RETURN_IF_ERROR(parsed);
  auto snapshot = store_->Snapshot();
  response->set_serving(serving_.load() && snapshot != nullptr);
  response->set_policy_dir(store_->dir().empty() ? "embedded" : store_->dir());
  response->set_inline_policies_allowed(options_.allow_inline_policies);
  if (snapshot != nullptr) {
    response->set_policy_sets(static_cast<int32_t>(snapshot->sets.size()));
    for (const auto& e : snapshot->file_errors) *response->add_file_errors() = e;
    for (const auto& f : snapshot->pending_files) response->add_pending_files(f);
    response->set_last_reload_at(
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", snapshot->loaded_at, absl::UTCTimeZone()));
  }
  response->set_decision_log_dropped_lines(log_->dropped_lines());
  const ServiceMetrics::ReloadCounts reloads = metrics_->reloads();
  response->set_reloads_ok(reloads.ok);
  response->set_reloads_failed(reloads.failed);
  const auto stats = cache_->stats();
  response->set_cache_entries(stats.entries);
  response->set_cache_bytes(stats.bytes);
  return absl::OkStatus();
}

// The RPCs: each decodes its raw request, runs its handler and encodes the
// response (see the header for why the service takes raw bytes).
grpc::ServerUnaryReactor* BuildGateService::Decide(grpc::CallbackServerContext* ctx,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  static const int method = ServiceMetrics::MethodIndex("Decide");
  return Serve(ctx, request, response, &BuildGateService::HandleDecide, method);
}
grpc::ServerUnaryReactor* BuildGateService::DecideBatch(grpc::CallbackServerContext* ctx,
                                                        const grpc::ByteBuffer* request,
                                                        grpc::ByteBuffer* response) {
  static const int method = ServiceMetrics::MethodIndex("DecideBatch");
  return Serve(ctx, request, response, &BuildGateService::HandleDecideBatch, method);
}
grpc::ServerUnaryReactor* BuildGateService::ValidatePolicy(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* request,
                                                           grpc::ByteBuffer* response) {
  static const int method = ServiceMetrics::MethodIndex("ValidatePolicy");
  return Serve(ctx, request, response, &BuildGateService::HandleValidatePolicy, method);
}
grpc::ServerUnaryReactor* BuildGateService::ListPolicySets(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* request,
                                                           grpc::ByteBuffer* response) {
  static const int method = ServiceMetrics::MethodIndex("ListPolicySets");
  return Serve(ctx, request, response, &BuildGateService::HandleListPolicySets, method);
}
grpc::ServerUnaryReactor* BuildGateService::GetPolicySet(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  static const int method = ServiceMetrics::MethodIndex("GetPolicySet");
  return Serve(ctx, request, response, &BuildGateService::HandleGetPolicySet, method);
}
grpc::ServerUnaryReactor* BuildGateService::GetServerStatus(grpc::CallbackServerContext* ctx,
                                                            const grpc::ByteBuffer* request,
                                                            grpc::ByteBuffer* response) {
  static const int method = ServiceMetrics::MethodIndex("GetServerStatus");
  return Serve(ctx, request, response, &BuildGateService::HandleGetServerStatus, method);
}

grpc::ServerUnaryReactor* BuildGateService::LintPipeline(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  static const int method = ServiceMetrics::MethodIndex("LintPipeline");
  return Serve(ctx, request, response, &BuildGateService::HandleLintPipeline, method);
}

absl::Status BuildGateService::HandleLintPipeline(grpc::CallbackServerContext& ctx,
                                                  const absl::Status& parsed,
                                                  const v1::LintPipelineRequest* request,
                                                  v1::LintPipelineResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = LintInto(parsed, *request, response);
  const std::string caller = Caller(ctx);
  if (!status.ok()) {
    // A refused lint is on record, as a refused Decide is.
    response->Clear();
    DecisionLogEntry entry = NewLogEntry(caller, "LintPipeline");
    entry.status = status;
    entry.latency_us = static_cast<int64_t>(SecondsSince(start) * 1e6);
    log_->Record(entry);
    return status;
  }
  // Every decided build is a decision: logged like one, under the lint's id.
  response->set_lint_id(NextDecisionId());
  for (const v1::Finding& f : response->report().findings()) {
    if (!f.has_decision()) continue;
    DecisionLogEntry entry = NewLogEntry(caller, "LintPipeline");
    entry.step = &f.step();
    entry.decision = &f.decision();
    log_->Record(entry);
  }
  return absl::OkStatus();
}

absl::Status BuildGateService::LintInto(const absl::Status& parsed,
                                        const v1::LintPipelineRequest& request,
                                        v1::LintPipelineResponse* response) {
  if (!serving_.load()) {
    return absl::UnavailableError("buildgated is not serving (starting or shutting down)");
  }
  BG_RETURN_IF_ERROR(parsed);
  if (request.document().empty()) return InvalidField("document", "required");
  BG_ASSIGN_OR_RETURN(const std::string name,
                      DocumentName(request.file_name(), "file_name", "pipeline.yaml"));
  BG_ASSIGN_OR_RETURN(const PolicyHandle compiled, ResolvePolicy(request.policy()));
  auto result = lint::LintDocument(*compiled, request.document(), name, options_.limits);
  if (!result.ok()) {
    return WithField(result.status(), "document");
  }
  *response->mutable_report() = std::move(result->report);
  // Lint decides in FULL (its findings' text comes from the reasons); the
  // view trims what is sent.
  for (v1::Finding& f : *response->mutable_report()->mutable_findings()) {
    if (f.has_decision()) ApplyView(request.view(), f.mutable_decision());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BuildGateService::DocumentName(const std::string& name,
                                                          absl::string_view field,
                                                          absl::string_view fallback) {
  if (name.size() > kMaxFileNameBytes || std::any_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_iscntrl(static_cast<unsigned char>(c));
      })) {
    return InvalidField(field, absl::StrCat("at most ", kMaxFileNameBytes,
                                            " bytes (PATH_MAX), no control characters"));
  }
  return name.empty() ? std::string(fallback) : name;
}

grpc::ServerUnaryReactor* BuildGateService::DiffPolicies(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  static const int method = ServiceMetrics::MethodIndex("DiffPolicies");
  return Serve(ctx, request, response, &BuildGateService::HandleDiffPolicies, method);
}

absl::Status BuildGateService::HandleDiffPolicies(grpc::CallbackServerContext&,
                                                  const absl::Status& parsed,
                                                  const v1::DiffPoliciesRequest* request,
                                                  v1::DiffPoliciesResponse* response) {
  if (!serving_.load()) {
    return absl::UnavailableError("buildgated is not serving (starting or shutting down)");
  }
  BG_RETURN_IF_ERROR(parsed);
  if (request->documents_size() == 0) return InvalidField("documents", "at least one document");
  if (request->documents_size() > kMaxBatchSize) {
    return InvalidField("documents", absl::StrCat("at most ", kMaxBatchSize, " documents, got ",
                                                  request->documents_size()));
  }
  // ResolvePolicy names the field "policy"; here it is `from` or `to`.
  auto nested = [](absl::string_view field, const absl::Status& s) {
    return ReplaceFieldPrefix(s, "policy", field);
  };
  auto from = ResolvePolicy(request->from());
  if (!from.ok()) return nested("from", from.status());
  auto to = ResolvePolicy(request->to());
  if (!to.ok()) return nested("to", to.status());
  v1::PolicyDiff& diff = *response->mutable_diff();
  for (int i = 0; i < request->documents_size(); ++i) {
    const v1::PipelineDocument& doc = request->documents(i);
    const std::string at = absl::StrCat("documents[", i, "]");
    if (doc.document().empty()) return InvalidField(at + ".document", "required");
    BG_ASSIGN_OR_RETURN(const std::string name,
                        DocumentName(doc.file_name(), at + ".file_name",
                                     absl::StrCat("document-", i, ".yaml")));
    auto before = lint::LintDocument(**from, doc.document(), name, options_.limits);
    if (!before.ok()) return ForDocument(before.status(), at, "from");
    auto after = lint::LintDocument(**to, doc.document(), name, options_.limits);
    if (!after.ok()) return ForDocument(after.status(), at, "to");
    diff.set_files(diff.files() + 1);
    lint::AddDocumentDiff(before->report, after->report, &diff);
  }
  lint::FinishDiff(&diff);
  return absl::OkStatus();
}

}  // namespace buildgate
