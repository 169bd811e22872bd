#include "client/buildgate_client.h"

#include <algorithm>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "buildgate/v1/common.pb.h"
#include "common/file.h"
#include "common/input_error.h"
#include "common/status.h"
#include "common/tls_library.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace buildgate {
// The call's status, with the field, file, line and column of its rich-error
// details (service/grpc_status.h) as the payload of common/input_error.h.
absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) return out;
  InputLocation location;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::BadRequest bad;
    v1::InputError where;
    if (any.Is<google::rpc::BadRequest>() && any.UnpackTo(&bad) && bad.field_violations_size() > 0 &&
        location.field.empty()) {
      location.field = bad.field_violations(0).field();
    } else if (any.Is<v1::InputError>() && any.UnpackTo(&where)) {
      location.file = where.file();
      location.line = where.line() > 0 ? where.line() : 0;
      location.column = where.column() > 0 ? where.column() : 0;
      if (!where.field().empty()) location.field = where.field();
      location.value = IsCredentialField(location.field) ? "" : where.value();
    }
  }
  return SetInputLocation(std::move(out), location);
}

absl::StatusOr<std::unique_ptr<BuildGateClient>> BuildGateClient::Create(const ClientOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("--server: required");
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  if (!options.tls_ca.empty() || !options.tls_cert.empty()) {
    InitOpenSslWithoutExitHandler();
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca.empty()) {
      BG_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFileToString(options.tls_ca));
    }
    if (!options.tls_cert.empty()) {
      BG_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFileToString(options.tls_cert));
      BG_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFileToString(options.tls_key));
    }
    creds = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  }
  args.SetMaxReceiveMessageSize(16 << 20);
  // Every address the target resolves to takes calls in turn, so a retry
  // after a replica drains goes to another one.
  args.SetServiceConfigJSON(R"({"loadBalancingConfig": [{"round_robin": {}}]})");
  auto channel = grpc::CreateCustomChannel(options.target, creds, args);
  return std::unique_ptr<BuildGateClient>(new BuildGateClient(options, std::move(channel)));
}

BuildGateClient::BuildGateClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)), channel_(std::move(channel)), stub_(v1::BuildGateService::NewStub(channel_)) {}

template <typename Call>
grpc::Status BuildGateClient::WithRetries(Call&& call) {
  const absl::Time give_up = absl::Now() + options_.retry_window;
  absl::Duration backoff = options_.initial_backoff;
  grpc::Status status;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
    if (!options_.caller.empty()) ctx.AddMetadata("x-buildgate-caller", options_.caller);
    status = call(&ctx);
    const bool retryable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           status.error_code() == grpc::StatusCode::CANCELLED;
    if (!retryable) return status;
    if (options_.max_attempts > 0 && attempt >= options_.max_attempts) return status;
    // Full jitter keeps many clients from retrying in step.
    thread_local std::mt19937_64 random(std::random_device{}());
    const absl::Duration sleep =
        backoff * std::uniform_real_distribution<double>(0.5, 1.0)(random);
    if (absl::Now() + sleep > give_up) return status;
    std::this_thread::sleep_for(absl::ToChronoMicroseconds(sleep));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::StatusOr<v1::DecideResponse> BuildGateClient::Decide(const v1::PolicySource& policy,
                                                           const v1::BuildStep& step) {
  v1::DecideRequest request;
  *request.mutable_policy() = policy;
  *request.mutable_step() = step;
  request.set_view(options_.view);
  v1::DecideResponse response;
  grpc::Status status = WithRetries([&](grpc::ClientContext* ctx) {
    ++attempts_;
    response.Clear();
    return stub_->Decide(ctx, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::DecideResponse> BuildGateClient::DecideWithPolicy(const v1::PolicySet& policy,
                                                                     const v1::BuildStep& step) {
  const std::string key = policy.SerializeAsString();
  std::string fingerprint;
  {
    absl::MutexLock lock(&mu_);
    auto it = fingerprints_.find(key);
    if (it != fingerprints_.end()) fingerprint = it->second;
  }
  if (!fingerprint.empty()) {
    v1::PolicySource source;
    source.set_policy_fingerprint(fingerprint);
    auto response = Decide(source, step);
    if (response.ok() || response.status().code() != absl::StatusCode::kFailedPrecondition) {
      return response;
    }
    // Not cached there any more: fall through and resend the policy.
  }
  v1::PolicySource source;
  *source.mutable_inline_policy() = policy;
  auto response = Decide(source, step);
  if (response.ok() && !response->decision().policy_fingerprint().empty()) {
    absl::MutexLock lock(&mu_);
    fingerprints_[key] = response->decision().policy_fingerprint();
  }
  return response;
}

absl::StatusOr<v1::DecideBatchResponse> BuildGateClient::DecideBatch(const v1::DecideBatchRequest& request) {
  v1::DecideBatchResponse response;
  grpc::Status status = WithRetries([&](grpc::ClientContext* ctx) {
    response.Clear();
    return stub_->DecideBatch(ctx, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::ValidatePolicyResponse> BuildGateClient::ValidatePolicy(const v1::PolicySet& policy) {
  v1::ValidatePolicyRequest request;
  *request.mutable_policy_set() = policy;
  v1::ValidatePolicyResponse response;
  grpc::Status status = WithRetries(
      [&](grpc::ClientContext* ctx) { return stub_->ValidatePolicy(ctx, request, &response); });
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::ListPolicySetsResponse> BuildGateClient::ListPolicySets() {
  v1::ListPolicySetsResponse response;
  grpc::Status status = WithRetries([&](grpc::ClientContext* ctx) {
    return stub_->ListPolicySets(ctx, v1::ListPolicySetsRequest(), &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::GetPolicySetResponse> BuildGateClient::GetPolicySet(const std::string& org_id) {
  v1::GetPolicySetRequest request;
  request.set_org_id(org_id);
  v1::GetPolicySetResponse response;
  grpc::Status status = WithRetries(
      [&](grpc::ClientContext* ctx) { return stub_->GetPolicySet(ctx, request, &response); });
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::GetServerStatusResponse> BuildGateClient::ServerStatus() {
  v1::GetServerStatusResponse response;
  grpc::Status status = WithRetries([&](grpc::ClientContext* ctx) {
    return stub_->GetServerStatus(ctx, v1::GetServerStatusRequest(), &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::LintPipelineResponse> BuildGateClient::LintPipeline(
    const v1::LintPipelineRequest& request) {
  v1::LintPipelineResponse response;
  grpc::Status status = WithRetries([&](grpc::ClientContext* ctx) {
    return stub_->LintPipeline(ctx, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::DiffPoliciesResponse> BuildGateClient::DiffPolicies(
    const v1::DiffPoliciesRequest& request) {
  v1::DiffPoliciesResponse response;
  grpc::Status status = WithRetries([&](grpc::ClientContext* ctx) {
    return stub_->DiffPolicies(ctx, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<std::string> BuildGateClient::Health(const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = WithRetries(
      [&](grpc::ClientContext* ctx) { return stub->Check(ctx, request, &response); });
  if (!status.ok()) return FromGrpcStatus(status);
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

}  // namespace buildgate
