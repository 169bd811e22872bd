// buildgated: the buildgate gRPC server. Wiring only: flags -> ServerOptions,
// then wait for SIGTERM/SIGINT and drain. See server.h.
#include <algorithm>
#include <csignal>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/server.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "TCP address to serve gRPC on (port 0 picks one); empty for none");
ABSL_FLAG(std::string, unix_socket, "", "Unix domain socket path to serve on as well (sidecar use)");
ABSL_FLAG(std::string, policy_dir, "",
          "Directory of policy-set files (*.yaml, *.yml, *.json), e.g. a mounted ConfigMap; "
          "empty serves the embedded example policies");
ABSL_FLAG(absl::Duration, reload_interval, absl::Seconds(2), "How often to check policy_dir for changes");
ABSL_FLAG(bool, allow_inline_policies, true,
          "Accept policies sent inline by callers; false: callers may only name stored policy sets");
ABSL_FLAG(int64_t, cache_max_entries, 100000, "Most compiled inline policy sets to cache");
ABSL_FLAG(int64_t, cache_max_mb, 1024, "Approximate memory budget of the inline policy cache, MiB");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "Address for Prometheus /metrics (port 0 picks one); empty disables");
ABSL_FLAG(std::string, decision_log, "-", "Decision log: - for stdout, empty for none, else a file");
ABSL_FLAG(int64_t, decision_log_max_queued_bytes, int64_t{8} << 20,
          "Most decision-log bytes waiting for a slow sink; lines beyond are dropped and counted");
ABSL_FLAG(absl::Duration, decision_log_flush_timeout, absl::Seconds(5),
          "Longest shutdown waits for the decision log's sink to take the last lines");
ABSL_FLAG(std::string, tls_cert, "", "Server certificate chain (PEM); enables TLS");
ABSL_FLAG(std::string, tls_key, "", "Server private key (PEM)");
ABSL_FLAG(std::string, tls_client_ca, "", "CA (PEM) for client certificates; enables mutual TLS");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "How long SIGTERM waits for in-flight calls before cancelling them");
ABSL_FLAG(absl::Duration, shutdown_delay, absl::ZeroDuration(),
          "On SIGTERM, answer NOT_SERVING/UNAVAILABLE this long before closing listeners");
ABSL_FLAG(absl::Duration, policy_settle_time, absl::Seconds(2),
          "A changed policy file loads once unchanged this long (files behind a ConfigMap's ..data "
          "symlink load at once)");
ABSL_FLAG(int64_t, max_policy_files, 10000, "Most policy files in --policy_dir (more is a store fault)");
ABSL_FLAG(int64_t, max_policy_dir_bytes, int64_t{256} << 20,
          "Most bytes of policy files in --policy_dir (more is a store fault)");
ABSL_FLAG(int64_t, max_request_bytes, int64_t{4} << 20, "Largest gRPC request accepted");
ABSL_FLAG(int64_t, max_document_bytes, int64_t{1} << 20, "Largest policy file");
ABSL_FLAG(int64_t, max_yaml_nodes, 20000, "Most YAML nodes in a policy file, after alias expansion");
ABSL_FLAG(int64_t, max_depth, 32, "Deepest nesting of a policy file or request");
ABSL_FLAG(int64_t, max_string_bytes, 8192, "Longest string field in a policy file or request");
ABSL_FLAG(int64_t, max_list_items, 1000, "Most items in a list field of a policy file or request");
ABSL_FLAG(std::string, port_file, "", "Write the chosen TCP port here once serving (tests, scripts)");

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "service/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "buildgated: decides how CI build-and-push steps may run under an org's policy.\n"
      "  buildgated [--listen=127.0.0.1:50051] [--policy_dir=DIR] [--unix_socket=PATH] ...");
  absl::ParseCommandLine(argc, argv);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ buildgated: %v");

  // Block the stop signals in every thread; this one waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  buildgate::ServerOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.unix_socket = absl::GetFlag(FLAGS_unix_socket);
  o.policy_dir = absl::GetFlag(FLAGS_policy_dir);
  o.reload_interval = absl::GetFlag(FLAGS_reload_interval);
  o.allow_inline_policies = absl::GetFlag(FLAGS_allow_inline_policies);
  o.cache_max_entries = static_cast<std::size_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_cache_max_entries)));
  o.cache_max_bytes = static_cast<std::size_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_cache_max_mb))) << 20;
  o.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  o.decision_log = absl::GetFlag(FLAGS_decision_log);
  o.decision_log_options.max_queued_bytes =
      static_cast<std::size_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_decision_log_max_queued_bytes)));
  o.decision_log_options.flush_timeout = absl::GetFlag(FLAGS_decision_log_flush_timeout);
  o.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key = absl::GetFlag(FLAGS_tls_key);
  o.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  o.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  o.shutdown_delay = absl::GetFlag(FLAGS_shutdown_delay);
  auto positive = [](int64_t v) { return static_cast<std::size_t>(std::max<int64_t>(1, v)); };
  o.store.settle_time = absl::GetFlag(FLAGS_policy_settle_time);
  o.store.max_files = positive(absl::GetFlag(FLAGS_max_policy_files));
  o.store.max_total_bytes = positive(absl::GetFlag(FLAGS_max_policy_dir_bytes));
  o.max_request_bytes = positive(absl::GetFlag(FLAGS_max_request_bytes));
  o.limits.max_document_bytes = positive(absl::GetFlag(FLAGS_max_document_bytes));
  o.limits.max_yaml_nodes = positive(absl::GetFlag(FLAGS_max_yaml_nodes));
  o.limits.max_depth = static_cast<int>(std::clamp<int64_t>(absl::GetFlag(FLAGS_max_depth), 1, 1000));
  o.limits.max_string_bytes = positive(absl::GetFlag(FLAGS_max_string_bytes));
  o.limits.max_list_items = positive(absl::GetFlag(FLAGS_max_list_items));

  auto server = buildgate::BuildGateServer::Start(o);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", std::string(server.status().message()));
    return 2;
  }
  spdlog::info("serving on {}{}{} (metrics port {}, inline policies {})",
               o.listen.empty() ? "" : absl::StrCat("127.0.0.1:", (*server)->tcp_port()),
               o.unix_socket.empty() ? "" : " and unix:", o.unix_socket, (*server)->metrics_port(),
               o.allow_inline_policies ? "on" : "off");
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << (*server)->tcp_port() << "\n" << (*server)->metrics_port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}; draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown();
  server->reset();  // Flushes and closes the decision log before spdlog goes.
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}
