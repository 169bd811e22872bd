// Fuzz target: the real gRPC service on arbitrary request bytes. One
// buildgated (embedded example policies, inline policies on, no decision
// log) runs in-process on a loopback port; each input is sent as the raw
// body of a Decide, DecideBatch or ValidatePolicy call (chosen by the first
// byte). Every answer must be OK with a parsable response or a clear error
// (INVALID_ARGUMENT, also for bytes that are not a message at all;
// NOT_FOUND; FAILED_PRECONDITION for an unknown fingerprint), never
// UNKNOWN, INTERNAL or UNIMPLEMENTED, and the server must stay up.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "buildgate/v1/service.pb.h"
#include "service/server.h"

namespace {

struct Harness {
  std::unique_ptr<buildgate::BuildGateServer> server;
  std::unique_ptr<grpc::GenericStub> stub;
  grpc::CompletionQueue cq;
};

Harness& Get() {
  static Harness* h = [] {
    auto* harness = new Harness();
    buildgate::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_address = "";
    o.decision_log = "";
    auto s = buildgate::BuildGateServer::Start(o);
    if (!s.ok()) std::abort();
    harness->server = *std::move(s);
    harness->stub = std::make_unique<grpc::GenericStub>(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", harness->server->tcp_port()), grpc::InsecureChannelCredentials()));
    return harness;
  }();
  return *h;
}

bool Acceptable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Harness& h = Get();
  static const char* const kMethods[] = {"/buildgate.v1.BuildGateService/Decide",
                                         "/buildgate.v1.BuildGateService/DecideBatch",
                                         "/buildgate.v1.BuildGateService/ValidatePolicy"};
  const char* method = kMethods[data[0] % 3];
  grpc::Slice slice(reinterpret_cast<const char*>(data + 1), size - 1);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto call = h.stub->PrepareUnaryCall(&ctx, method, request, &h.cq);
  call->StartCall();
  grpc::ByteBuffer reply;
  grpc::Status status;
  call->Finish(&reply, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  if (!h.cq.Next(&tag, &ok) || !ok) std::abort();
  if (!Acceptable(status.error_code())) {
    fprintf(stderr, "unacceptable status %d: %s\n", status.error_code(), status.error_message().c_str());
    std::abort();
  }
  if (status.ok()) {
    // An OK answer is a well-formed response of the method's type.
    grpc::Slice body;
    if (!reply.DumpToSingleSlice(&body).ok()) std::abort();
    const std::string bytes(reinterpret_cast<const char*>(body.begin()), body.size());
    const bool parsed = data[0] % 3 == 0   ? buildgate::v1::DecideResponse().ParseFromString(bytes)
                        : data[0] % 3 == 1 ? buildgate::v1::DecideBatchResponse().ParseFromString(bytes)
                                           : buildgate::v1::ValidatePolicyResponse().ParseFromString(bytes);
    if (!parsed) std::abort();
  }
  return 0;
}
