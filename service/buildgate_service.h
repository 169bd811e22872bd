// BuildGateService: the gRPC adapter over the engine. Decodes a request,
// picks the compiled policy (stored set, inline policy via the cache, or a
// cached fingerprint), calls Decide, and records the log entry and metrics.
// Every refusal is an absl::Status converted in grpc_status.h; a deny is an
// OK response carrying a VERDICT_DENY decision.
//
// The RPCs take raw bytes (gRPC's "raw callback" methods) and decode them in
// service/raw_message.h: gRPC 1.51 answers a request it cannot decode (for
// example a string that is not UTF-8) with UNIMPLEMENTED and no message,
// where buildgate answers INVALID_ARGUMENT naming the field. Request and
// response messages are reused per thread, so a steady stream of calls does
// not allocate them.
//
// Thread-safe: handlers run concurrently on gRPC's callback threads; all
// shared state (store snapshot, cache, log, metrics) is thread-safe.
#ifndef BUILDGATE_SERVICE_BUILDGATE_SERVICE_H_
#define BUILDGATE_SERVICE_BUILDGATE_SERVICE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "input/limits.h"
#include "service/grpc_status.h"
#include "buildgate/v1/service.grpc.pb.h"
#include "service/decision_log.h"
#include "service/raw_message.h"
#include "service/metrics.h"
#include "store/policy_cache.h"
#include "store/policy_store.h"

namespace buildgate {

// Most steps one DecideBatch may carry.
inline constexpr int kMaxBatchSize = 1000;
// Longest file name a document may carry (LintPipeline, DiffPolicies): a
// path as long as Linux allows (PATH_MAX).
inline constexpr std::size_t kMaxFileNameBytes = 4096;

// Every method of the service, as a raw callback method.
using RawBuildGateService = v1::BuildGateService::WithRawCallbackMethod_Decide<
    v1::BuildGateService::WithRawCallbackMethod_DecideBatch<v1::BuildGateService::WithRawCallbackMethod_ValidatePolicy<
        v1::BuildGateService::WithRawCallbackMethod_ListPolicySets<v1::BuildGateService::WithRawCallbackMethod_GetPolicySet<
            v1::BuildGateService::WithRawCallbackMethod_GetServerStatus<
                v1::BuildGateService::WithRawCallbackMethod_LintPipeline<
                    v1::BuildGateService::WithRawCallbackMethod_DiffPolicies<
                        v1::BuildGateService::Service>>>>>>>>;

class BuildGateService final : public RawBuildGateService {
 public:
  struct Options {
    bool allow_inline_policies = true;
    std::function<absl::Time()> clock = absl::Now;
    // Every request is checked against these before anything else.
    InputLimits limits;
  };

  BuildGateService(Options options, PolicyStore* store, CompiledPolicyCache* cache,
                   DecisionLog* log, ServiceMetrics* metrics);

  grpc::ServerUnaryReactor* Decide(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DecideBatch(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ValidatePolicy(grpc::CallbackServerContext* ctx,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListPolicySets(grpc::CallbackServerContext* ctx,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetPolicySet(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetServerStatus(grpc::CallbackServerContext* ctx,
                                            const grpc::ByteBuffer* request,
                                            grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* LintPipeline(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DiffPolicies(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;

  // Marks the service as draining: new calls get UNAVAILABLE.
  void SetServing(bool serving) { serving_.store(serving); }

 private:
  // The compiled set a request names, held for the rest of the call (a call
  // may hold two: DiffPolicies).
  absl::StatusOr<PolicyHandle> ResolvePolicy(const v1::PolicySource& source);
  absl::Status DecideOne(const CompiledPolicySet& set, const v1::BuildStep& step,
                         v1::DecisionView view, v1::DecideResponse* response);

  // One handler per RPC. `parsed` is the decoding's result, limits
  // (input/limits.h) included: on error the handler refuses (Decide,
  // DecideBatch and LintPipeline log the refusal). The response is only sent when
  // OK.
  template <typename Request, typename Response>
  using Handler = absl::Status (BuildGateService::*)(grpc::CallbackServerContext& ctx,
                                                     const absl::Status& parsed, const Request* request,
                                                     Response* response);
  absl::Status HandleDecide(grpc::CallbackServerContext& ctx, const absl::Status& parsed,
                            const v1::DecideRequest* request, v1::DecideResponse* response);
  absl::Status HandleDecideBatch(grpc::CallbackServerContext& ctx, const absl::Status& parsed,
                                 const v1::DecideBatchRequest* request, v1::DecideBatchResponse* response);
  absl::Status HandleValidatePolicy(grpc::CallbackServerContext& ctx, const absl::Status& parsed,
                                    const v1::ValidatePolicyRequest* request,
                                    v1::ValidatePolicyResponse* response);
  absl::Status HandleListPolicySets(grpc::CallbackServerContext& ctx, const absl::Status& parsed,
                                    const v1::ListPolicySetsRequest* request,
                                    v1::ListPolicySetsResponse* response);
  absl::Status HandleGetPolicySet(grpc::CallbackServerContext& ctx, const absl::Status& parsed,
                                  const v1::GetPolicySetRequest* request, v1::GetPolicySetResponse* response);
  absl::Status HandleGetServerStatus(grpc::CallbackServerContext& ctx, const absl::Status& parsed,
                                     const v1::GetServerStatusRequest* request, v1::GetServerStatusResponse* response);
  absl::Status HandleLintPipeline(grpc::CallbackServerContext& ctx, const absl::Status& parsed,
                                  const v1::LintPipelineRequest* request,
                                  v1::LintPipelineResponse* response);
  absl::Status HandleDiffPolicies(grpc::CallbackServerContext& ctx, const absl::Status& parsed,
                                  const v1::DiffPoliciesRequest* request,
                                  v1::DiffPoliciesResponse* response);
  // LintPipeline's work, without the decision log: fills `response` or says
  // why the request is refused.
  absl::Status LintInto(const absl::Status& parsed, const v1::LintPipelineRequest& request,
                        v1::LintPipelineResponse* response);
  // A request's document name: `name`, else `fallback`; kInvalidArgument
  // naming `field` when longer than kMaxFileNameBytes or holding control
  // characters.
  static absl::StatusOr<std::string> DocumentName(const std::string& name,
                                                  absl::string_view field,
                                                  absl::string_view fallback);

  // Decodes `in` into this thread's reusable request, checks it against the
  // limits, runs `handle`, encodes its response into `out` and finishes the
  // call, counted for `method` (ServiceMetrics::MethodIndex).
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* in,
                                  grpc::ByteBuffer* out, Handler<Request, Response> handle,
                                  int method) {
    auto* reactor = ctx->DefaultReactor();
    const auto start = std::chrono::steady_clock::now();
    metrics_->RpcStarted();
    // May run on the decision log's writer thread (see below). Counted
    // before the reply goes out, so a caller that has its answer (and then
    // scrapes /metrics) always sees its call counted.
    auto finish = [this, reactor, start, method](const grpc::Status& status) {
      metrics_->RpcFinished(
          method, static_cast<int>(status.error_code()),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      reactor->Finish(status);
    };
    if (!in->Valid()) {
      // No request message arrived: the client cancelled or closed first.
      // Nothing was asked, so nothing is decided or logged; the RPC counts
      // as CANCELLED.
      finish(grpc::Status(grpc::StatusCode::CANCELLED, "no request message arrived"));
      return reactor;
    }
    thread_local Request request;
    thread_local Response response;
    request.Clear();
    ResetForReuse(&response);
    static const int schema_depth = SchemaDepth(*Request::descriptor());
    absl::Status parsed = ParseRawMessage(*in, &request);
    if (parsed.ok() && !SizeProvesLimits(in->Length(), schema_depth, options_.limits)) {
      parsed = CheckMessageLimits(request, "", options_.limits);
    }
    const absl::Status status = (this->*handle)(*ctx, parsed, &request, &response);
    grpc::Status result = ToGrpcStatus(status);
    if (status.ok()) result = SerializeRawMessage(response, out);
    // The answer goes out once the call's log lines are written (at once
    // when it logged nothing): an answered decision is always on record.
    log_->AfterWritten([finish, result = std::move(result)](bool written) {
      if (written || !result.ok()) {
        finish(result);
      } else {
        finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the decision log could not record this call (sink failing or "
                            "too far behind); not answering without a record"));
      }
    });
    return reactor;
  }
  std::string NextDecisionId();
  // A log entry with a fresh id, the time, the caller and the RPC name.
  DecisionLogEntry NewLogEntry(const std::string& caller, absl::string_view rpc);
  static std::string Caller(const grpc::CallbackServerContext& ctx);

  const Options options_;
  PolicyStore* const store_;
  CompiledPolicyCache* const cache_;
  DecisionLog* const log_;
  ServiceMetrics* const metrics_;
  std::atomic<bool> serving_{false};
  std::atomic<uint64_t> next_id_{0};
  const std::string id_prefix_;
};

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_BUILDGATE_SERVICE_H_
