// The transport ceiling: a bare gRPC callback server, built from the same
// gRPC library with the same server options as buildgated, serving the same
// method (/buildgate.v1.BuildGateService/Decide) with a response of the same size,
// whose handler only copies a few fields. Anything buildgated is slower than
// this is policy cost. A request asking for the BASIC view gets a response
// of --basic_response_bytes (buildgated's BASIC answer is smaller).
//
//   echo_server --listen=127.0.0.1:0 --port_file=F --response_bytes=N [--basic_response_bytes=M]
#include <csignal>
#include <fstream>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "buildgate/v1/service.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "Address to serve on");
ABSL_FLAG(std::string, port_file, "", "Write the chosen port here");
ABSL_FLAG(int, response_bytes, 2000, "Serialized size of each response");
ABSL_FLAG(int, basic_response_bytes, 0,
          "Serialized size of a response to a request with view BASIC (0: --response_bytes)");

namespace {

class EchoService final : public buildgate::v1::BuildGateService::CallbackService {
 public:
  EchoService(int response_bytes, int basic_response_bytes)
      : padding_(Padding(response_bytes)), basic_padding_(Padding(basic_response_bytes)) {}

  grpc::ServerUnaryReactor* Decide(grpc::CallbackServerContext* ctx,
                                   const buildgate::v1::DecideRequest* request,
                                   buildgate::v1::DecideResponse* response) override {
    // Copy three fields and the canned payload; no policy work.
    response->set_decision_id(request->step().step_id().empty() ? "0123456789ab-00000001"
                                                                : request->step().step_id());
    response->mutable_decision()->set_verdict(buildgate::v1::VERDICT_ALLOW);
    response->mutable_decision()->set_builder(request->step().requested_builder());
    response->mutable_decision()->set_step_yaml(
        request->view() == buildgate::v1::DECISION_VIEW_BASIC ? basic_padding_ : padding_);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  // Pads step_yaml so the serialized response has `response_bytes`.
  static std::string Padding(int response_bytes) {
    buildgate::v1::DecideResponse probe;
    probe.set_decision_id("0123456789ab-00000001");
    probe.mutable_decision()->set_verdict(buildgate::v1::VERDICT_ALLOW);
    probe.mutable_decision()->set_builder(buildgate::v1::BUILDER_BUILDAH);
    const int base = static_cast<int>(probe.ByteSizeLong()) + 3;
    return std::string(std::max(0, response_bytes - base), 'x');
  }

  const std::string padding_;
  const std::string basic_padding_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // As buildgated.
  const int basic = absl::GetFlag(FLAGS_basic_response_bytes);
  EchoService service(absl::GetFlag(FLAGS_response_bytes),
                      basic > 0 ? basic : absl::GetFlag(FLAGS_response_bytes));
  grpc::EnableDefaultHealthCheckService(true);  // As buildgated.
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(16 << 20);  // As buildgated.
  auto server = builder.BuildAndStart();
  if (!server || port == 0) return 2;
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << port << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown();
  return 0;
}
