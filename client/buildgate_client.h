// BuildGateClient: a small C++ client for buildgated that owns deadlines,
// retries and the inline-policy fingerprint protocol.
//
//  - Every call has a deadline (ClientOptions::deadline).
//  - The target may name several replicas: "dns:///buildgated.ns.svc:50051"
//    (a headless Service's A records), "ipv4:10.0.0.1:50051,10.0.0.2:50051",
//    or one "host:port" / "unix:/path". Calls are spread round_robin over
//    every address the name resolves to.
//  - UNAVAILABLE and CANCELLED (a replica draining or gone) are retried
//    with exponential backoff (50 ms doubling, at most 1 s apart, jittered)
//    until retry_window has passed: longer than a replica's drain
//    (--shutdown_delay) plus a restart, so a rolling update fails no call.
//    Decisions have no side effects, so a retry is safe; with round_robin
//    it goes to the next replica.
//  - DecideWithPolicy sends a policy inline once, then only its fingerprint;
//    when the server answers FAILED_PRECONDITION (not cached, e.g. after a
//    restart or an eviction) it resends the policy inline.
//
// Thread-safe: one client may be shared by many threads.
#ifndef BUILDGATE_CLIENT_BUILDGATE_CLIENT_H_
#define BUILDGATE_CLIENT_BUILDGATE_CLIENT_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "buildgate/v1/service.grpc.pb.h"

namespace buildgate {

struct ClientOptions {
  // "host:port" or "unix:/path".
  std::string target;
  absl::Duration deadline = absl::Seconds(5);
  // Retrying UNAVAILABLE/CANCELLED stops once this much time has passed
  // since the first attempt, or after max_attempts (0: no cap) attempts.
  absl::Duration retry_window = absl::Seconds(15);
  int max_attempts = 0;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
  // TLS: set tls_ca to use TLS; tls_cert + tls_key for mutual TLS.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;  // Overrides the name checked in the server certificate.
  // Sent as x-buildgate-caller, shown in the server's decision log.
  std::string caller;
  // How much of each decision Decide and DecideWithPolicy ask for
  // (unspecified: the server's default, FULL).
  v1::DecisionView view = v1::DECISION_VIEW_UNSPECIFIED;
};

class BuildGateClient {
 public:
  static absl::StatusOr<std::unique_ptr<BuildGateClient>> Create(const ClientOptions& options);

  // Decides with a stored policy set (by org) or any PolicySource.
  absl::StatusOr<v1::DecideResponse> Decide(const v1::PolicySource& policy, const v1::BuildStep& step);
  // Decides with an inline policy, sending only its fingerprint once known.
  absl::StatusOr<v1::DecideResponse> DecideWithPolicy(const v1::PolicySet& policy,
                                                      const v1::BuildStep& step);
  absl::StatusOr<v1::DecideBatchResponse> DecideBatch(const v1::DecideBatchRequest& request);
  absl::StatusOr<v1::ValidatePolicyResponse> ValidatePolicy(const v1::PolicySet& policy);
  absl::StatusOr<v1::ListPolicySetsResponse> ListPolicySets();
  absl::StatusOr<v1::GetPolicySetResponse> GetPolicySet(const std::string& org_id);
  absl::StatusOr<v1::GetServerStatusResponse> ServerStatus();
  absl::StatusOr<v1::LintPipelineResponse> LintPipeline(const v1::LintPipelineRequest& request);
  absl::StatusOr<v1::DiffPoliciesResponse> DiffPolicies(const v1::DiffPoliciesRequest& request);
  // grpc.health.v1 Check: "SERVING", "NOT_SERVING", ...
  absl::StatusOr<std::string> Health(const std::string& service = "");

  // How many Decide attempts were sent (tests observe retries and resends).
  int attempts() const { return attempts_.load(); }

 private:
  BuildGateClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel);

  template <typename Call>
  grpc::Status WithRetries(Call&& call);

  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::BuildGateService::Stub> stub_;
  std::atomic<int> attempts_{0};
  absl::Mutex mu_;
  // Serialized inline policy -> fingerprint the server reported for it.
  absl::flat_hash_map<std::string, std::string> fingerprints_ ABSL_GUARDED_BY(mu_);
};

// grpc::Status -> absl::Status (same codes and message).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace buildgate

#endif  // BUILDGATE_CLIENT_BUILDGATE_CLIENT_H_
