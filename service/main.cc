// buildgated: the buildgate gRPC server. Wiring only: flags (service/flags.h,
// CLI11 as the CLI) -> ServerOptions, then wait for SIGTERM/SIGINT and
// drain. See server.h.
//
// Exit codes: 0 stopped by a signal after draining; 2 bad flags or cannot
// start (a listener, a TLS file, the decision log); --help and --version
// exit 0.
#include <google/protobuf/stubs/common.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/command_line.h"
#include "service/flags.h"
#include "service/logging.h"
#include "service/server.h"
#include "spdlog/spdlog.h"

namespace {

constexpr int kExitStartFailed = 2;

}  // namespace

int main(int argc, char** argv) {
  buildgate::DaemonFlags flags;
  CLI::App app{
      "buildgated: decides how CI build-and-push steps may run under an org's policy, over gRPC.\n"
      "Logs go to stderr (JSON lines; --log_format=text for people); the decision log to stdout\n"
      "(--decision_log=-) or a file. Stop with SIGTERM or Ctrl-C: it drains, then exits 0.",
      "buildgated"};
  app.set_version_flag(
      "--version",
      absl::StrCat(buildgate::VersionLine("buildgated"), "\ngRPC ", grpc::Version(), ", protobuf ",
                   google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION), "\n"));
  buildgate::AddDaemonFlags(&app, &flags);

  const int parsed = buildgate::ParseCommandLine(
      app, std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr, kExitStartFailed);
  if (parsed >= 0) return parsed;
  buildgate::FinishDaemonFlags(&flags);
  const buildgate::ServerOptions& o = flags.server;
  if (absl::Status s = buildgate::SetUpLogging(flags.log_format); !s.ok()) {
    std::cerr << "buildgated: " << s.message() << "\n";
    return kExitStartFailed;
  }

  // Block the stop signals in every thread; this one waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = buildgate::BuildGateServer::Start(o);
  if (!server.ok()) {
    buildgate::LogEvent(spdlog::level::err, "cannot start",
                        {{"error", std::string(server.status().message())}});
    spdlog::shutdown();
    return kExitStartFailed;
  }
  buildgate::LogEvent(
      spdlog::level::info, "serving",
      {{"grpc", o.listen.empty() ? "" : absl::StrCat("127.0.0.1:", (*server)->tcp_port())},
       {"unix_socket", o.unix_socket},
       {"metrics",
        o.metrics_address.empty() ? "off" : absl::StrCat("port ", (*server)->metrics_port())},
       {"inline_policies", o.allow_inline_policies ? "on" : "off"},
       {"version", buildgate::VersionLine("buildgated")}});
  if (const std::string& port_file = flags.port_file; !port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << (*server)->tcp_port() << "\n" << (*server)->metrics_port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }

  int sig = 0;
  sigwait(&signals, &sig);
  buildgate::LogEvent(spdlog::level::info, "draining",
                      {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*server)->Shutdown();
  server->reset();  // Flushes and closes the decision log before spdlog goes.
  buildgate::LogEvent(spdlog::level::info, "stopped");
  spdlog::shutdown();
  return 0;
}
