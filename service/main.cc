// buildgated: the buildgate gRPC server. Wiring only: flags (CLI11, as the
// CLI; common/command_line.h) -> ServerOptions, then wait for SIGTERM/SIGINT
// and drain. See server.h.
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
#include "service/logging.h"
#include "service/server.h"
#include "spdlog/spdlog.h"

namespace {

constexpr int kExitStartFailed = 2;

// A size_t option that must be at least 1 (a limit of 0 would refuse all).
CLI::Option* AddPositive(CLI::App& app, const std::string& name, std::size_t* into,
                         const std::string& help) {
  return app.add_option(name, *into, help)->check(CLI::PositiveNumber)->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  buildgate::ServerOptions o;
  std::string log_format = "json";
  std::string port_file;
  std::size_t cache_max_mb = o.cache_max_bytes >> 20;
  std::size_t grpc_memory_mb = o.grpc_memory_bytes >> 20;

  CLI::App app{
      "buildgated: decides how CI build-and-push steps may run under an org's policy, over gRPC.\n"
      "Logs go to stderr (JSON lines; --log_format=text for people); the decision log to stdout\n"
      "(--decision_log=-) or a file. Stop with SIGTERM or Ctrl-C: it drains, then exits 0.",
      "buildgated"};
  app.set_version_flag(
      "--version",
      absl::StrCat(buildgate::VersionLine("buildgated"), "\ngRPC ", grpc::Version(), ", protobuf ",
                   google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION), "\n"));
  app.add_option("--listen", o.listen,
                 "TCP address to serve gRPC on (port 0 picks one); empty for none")
      ->capture_default_str();
  app.add_option("--unix_socket", o.unix_socket,
                 "Unix domain socket path to serve on as well (sidecar use)");
  std::string socket_mode = "0660";
  app.add_option("--unix_socket_mode", socket_mode,
                 "Octal permission bits of --unix_socket; clients need write permission (0660: "
                 "owner and group, e.g. a pod's fsGroup; 0666: any UID)")
      ->check(CLI::Validator(
          [](std::string& v) {
            return v.size() >= 3 && v.size() <= 4 && v.find_first_not_of("01234567") == std::string::npos
                       ? std::string()
                       : "not an octal mode like 0660";
          },
          "MODE"))
      ->capture_default_str();
  buildgate::AddDurationOption(
      &app, "--max_connection_age", &o.max_connection_age,
      "Close client connections older than this (gracefully) so clients re-resolve and spread "
      "over new replicas; 0s: never");
  buildgate::AddDurationOption(&app, "--max_connection_age_grace", &o.max_connection_age_grace,
                               "How long calls on an aged-out connection may still finish");
  app.add_option("--policy_dir", o.policy_dir,
                 "Directory of policy-set files (*.yaml, *.yml, *.json), e.g. a mounted ConfigMap; "
                 "empty serves the embedded example policies");
  buildgate::AddDurationOption(&app, "--reload_interval", &o.reload_interval,
                               "How often to check --policy_dir for changes");
  app.add_option("--allow_inline_policies", o.allow_inline_policies,
                 "Accept policies sent inline by callers; false: callers may only name stored sets")
      ->capture_default_str();
  AddPositive(app, "--cache_max_entries", &o.cache_max_entries,
              "Most compiled inline policy sets to cache");
  AddPositive(app, "--cache_max_mb", &cache_max_mb,
              "Approximate memory budget of the inline policy cache, MiB");
  app.add_option("--metrics_address", o.metrics_address,
                 "Address for Prometheus /metrics (port 0 picks one); empty disables")
      ->capture_default_str();
  app.add_option("--decision_log", o.decision_log,
                 "Decision log: - for stdout, empty for none, else a file")
      ->capture_default_str();
  AddPositive(
      app, "--decision_log_max_queued_bytes", &o.decision_log_options.max_queued_bytes,
      "Most decision-log bytes waiting for a slow sink; lines beyond are dropped and counted");
  app.add_option("--decision_log_before_reply", o.decision_log_options.before_reply,
                 "Answer a call only once its decision-log lines are written (a SIGKILL then "
                 "loses no answered decision; a failing log sink makes calls UNAVAILABLE); "
                 "false: batch lines and answer at once")
      ->capture_default_str();
  buildgate::AddDurationOption(
      &app, "--decision_log_flush_timeout", &o.decision_log_options.flush_timeout,
      "Longest shutdown waits for the decision log's sink to take the last lines");
  app.add_option("--log_format", log_format, "Operational log on stderr: json or text")
      ->check(CLI::IsMember({"json", "text"}))
      ->capture_default_str();
  app.add_option("--tls_cert", o.tls_cert, "Server certificate chain (PEM); enables TLS");
  app.add_option("--tls_key", o.tls_key, "Server private key (PEM)");
  app.add_option("--tls_client_ca", o.tls_client_ca,
                 "CA (PEM) for client certificates; enables mutual TLS");
  buildgate::AddDurationOption(&app, "--shutdown_grace", &o.shutdown_grace,
                               "How long SIGTERM waits for in-flight calls before cancelling them");
  buildgate::AddDurationOption(
      &app, "--shutdown_delay", &o.shutdown_delay,
      "On SIGTERM, answer NOT_SERVING/UNAVAILABLE this long before closing listeners");
  buildgate::AddDurationOption(
      &app, "--policy_settle_time", &o.store.settle_time,
      "A policy file written in place loads once closed by its writer and unchanged "
      "this long; names gone this long are deleted (renamed files and ConfigMap "
      "..data swaps load at once)");
  AddPositive(app, "--max_policy_files", &o.store.max_files,
              "Most policy files in --policy_dir (more is a store fault)");
  AddPositive(app, "--max_policy_dir_bytes", &o.store.max_total_bytes,
              "Most bytes of policy files in --policy_dir (more is a store fault)");
  AddPositive(app, "--max_request_bytes", &o.max_request_bytes, "Largest gRPC request accepted");
  app.add_option("--max_concurrent_streams", o.max_concurrent_streams,
                 "Most calls one client connection may have open at once; its further calls "
                 "wait in the client")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  AddPositive(app, "--grpc_memory_mb", &grpc_memory_mb,
              "Memory budget of gRPC's connections and calls together, MiB (a gRPC resource "
              "quota: under pressure gRPC shrinks its buffers and windows)");
  AddPositive(app, "--max_document_bytes", &o.limits.max_document_bytes,
              "Largest policy file, and largest document in a request (LintPipeline, "
              "DiffPolicies)");
  AddPositive(app, "--max_yaml_nodes", &o.limits.max_yaml_nodes,
              "Most YAML nodes in a policy file, after alias expansion");
  app.add_option("--max_depth", o.limits.max_depth, "Deepest nesting of a policy file or request")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  AddPositive(app, "--max_string_bytes", &o.limits.max_string_bytes,
              "Longest string field in a policy file or request");
  AddPositive(app, "--max_list_items", &o.limits.max_list_items,
              "Most items in a list field of a policy file or request");
  app.add_option("--port_file", port_file,
                 "Write the chosen TCP and metrics ports here once serving (tests, scripts)");

  const int parsed = buildgate::ParseCommandLine(
      app, std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr, kExitStartFailed);
  if (parsed >= 0) return parsed;
  o.cache_max_bytes = cache_max_mb << 20;
  o.grpc_memory_bytes = grpc_memory_mb << 20;
  o.unix_socket_mode = static_cast<unsigned>(std::stoul(socket_mode, nullptr, 8));
  if (absl::Status s = buildgate::SetUpLogging(log_format); !s.ok()) {
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
  if (!port_file.empty()) {
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
