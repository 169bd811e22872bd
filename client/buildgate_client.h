// BuildGateClient: a small C++ client for buildgated that owns deadlines,
// retries and the inline-policy fingerprint protocol.
//
//  - Every call has a deadline (ClientOptions::deadline).
//  - UNAVAILABLE is retried with exponential backoff (max_attempts in all);
//    decisions have no side effects, so a retry is safe.
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
  int max_attempts = 3;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  // TLS: set tls_ca to use TLS; tls_cert + tls_key for mutual TLS.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;  // Overrides the name checked in the server certificate.
  // Sent as x-buildgate-caller, shown in the server's decision log.
  std::string caller;
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
