#include "service/flags.h"

#include "common/command_line.h"

namespace buildgate {
namespace {

// A size_t option that must be at least 1 (a limit of 0 would refuse all).
CLI::Option* AddPositive(CLI::App* app, const std::string& name, std::size_t* into,
                         const std::string& help) {
  return app->add_option(name, *into, help)->check(CLI::PositiveNumber)->capture_default_str();
}

void AddListeningFlags(CLI::App* app, DaemonFlags* f) {
  ServerOptions& o = f->server;
  const std::string group = "Listening";
  app->add_option("--listen", o.listen,
                  "TCP address to serve gRPC on (port 0 picks one); empty for none")
      ->capture_default_str()
      ->group(group);
  app->add_option("--unix_socket", o.unix_socket,
                  "Unix domain socket path to serve on as well (sidecar use)")
      ->group(group);
  app->add_option("--unix_socket_mode", f->unix_socket_mode,
                  "Octal permission bits of --unix_socket; clients need write permission (0660: "
                  "owner and group, e.g. a pod's fsGroup; 0666: any UID)")
      ->check(CLI::Validator(
          [](std::string& v) {
            return v.size() >= 3 && v.size() <= 4 &&
                           v.find_first_not_of("01234567") == std::string::npos
                       ? std::string()
                       : "not an octal mode like 0660";
          },
          "MODE"))
      ->capture_default_str()
      ->group(group);
  AddDurationOption(app, "--max_connection_age", &o.max_connection_age,
                    "Close client connections older than this (gracefully) so clients "
                    "re-resolve and spread over new replicas; 0s: never")
      ->group(group);
  AddDurationOption(app, "--max_connection_age_grace", &o.max_connection_age_grace,
                    "How long calls on an aged-out connection may still finish")
      ->group(group);
  app->add_option("--metrics_address", o.metrics_address,
                  "Address for Prometheus /metrics (port 0 picks one); empty disables")
      ->capture_default_str()
      ->group(group);
  app->add_option("--port_file", f->port_file,
                  "Write the chosen TCP and metrics ports here once serving (tests, scripts)")
      ->group(group);
}

void AddPolicyFlags(CLI::App* app, DaemonFlags* f) {
  ServerOptions& o = f->server;
  const std::string group = "Policies";
  app->add_option("--policy_dir", o.policy_dir,
                  "Directory of policy-set files (*.yaml, *.yml, *.json), e.g. a mounted "
                  "ConfigMap; empty serves the embedded example policies")
      ->group(group);
  AddDurationOption(app, "--reload_interval", &o.reload_interval,
                    "How often to check --policy_dir for changes")
      ->group(group);
  AddDurationOption(app, "--policy_settle_time", &o.store.settle_time,
                    "A policy file written in place loads once closed by its writer and "
                    "unchanged this long; names gone this long are deleted (renamed files and "
                    "ConfigMap ..data swaps load at once)")
      ->group(group);
  AddPositive(app, "--max_policy_files", &o.store.max_files,
              "Most policy files in --policy_dir (more is a store fault)")
      ->group(group);
  AddPositive(app, "--max_policy_dir_bytes", &o.store.max_total_bytes,
              "Most bytes of policy files in --policy_dir (more is a store fault)")
      ->group(group);
  app->add_option("--allow_inline_policies", o.allow_inline_policies,
                  "Accept policies sent inline by callers; false: callers may only name stored "
                  "sets")
      ->capture_default_str()
      ->group(group);
  AddPositive(app, "--cache_max_entries", &o.cache_max_entries,
              "Most compiled inline policy sets to cache")
      ->group(group);
  AddPositive(app, "--cache_max_mb", &f->cache_max_mb,
              "Approximate memory budget of the inline policy cache, MiB")
      ->group(group);
}

void AddLogFlags(CLI::App* app, DaemonFlags* f) {
  ServerOptions& o = f->server;
  const std::string group = "Logs";
  app->add_option("--decision_log", o.decision_log,
                  "Decision log: - for stdout, empty for none, else a file")
      ->capture_default_str()
      ->group(group);
  AddPositive(
      app, "--decision_log_max_queued_bytes", &o.decision_log_options.max_queued_bytes,
      "Most decision-log bytes waiting for a slow sink; lines beyond are dropped and counted")
      ->group(group);
  app->add_option("--decision_log_before_reply", o.decision_log_options.before_reply,
                  "Answer a call only once its decision-log lines are written (a SIGKILL then "
                  "loses no answered decision; a failing log sink makes calls UNAVAILABLE); "
                  "false: batch lines and answer at once")
      ->capture_default_str()
      ->group(group);
  AddDurationOption(app, "--decision_log_flush_timeout", &o.decision_log_options.flush_timeout,
                    "Longest shutdown waits for the decision log's sink to take the last lines")
      ->group(group);
  app->add_option("--log_format", f->log_format, "Operational log on stderr: json or text")
      ->check(CLI::IsMember({"json", "text"}))
      ->capture_default_str()
      ->group(group);
}

void AddTlsFlags(CLI::App* app, DaemonFlags* f) {
  ServerOptions& o = f->server;
  const std::string group = "TLS";
  app->add_option("--tls_cert", o.tls_cert, "Server certificate chain (PEM); enables TLS")
      ->group(group);
  app->add_option("--tls_key", o.tls_key, "Server private key (PEM)")->group(group);
  app->add_option("--tls_client_ca", o.tls_client_ca,
                  "CA (PEM) for client certificates; enables mutual TLS")
      ->group(group);
}

void AddShutdownFlags(CLI::App* app, DaemonFlags* f) {
  ServerOptions& o = f->server;
  const std::string group = "Shutdown";
  AddDurationOption(app, "--shutdown_grace", &o.shutdown_grace,
                    "How long SIGTERM waits for in-flight calls before cancelling them")
      ->group(group);
  AddDurationOption(app, "--shutdown_delay", &o.shutdown_delay,
                    "On SIGTERM, answer NOT_SERVING/UNAVAILABLE this long before closing "
                    "listeners")
      ->group(group);
}

void AddLimitFlags(CLI::App* app, DaemonFlags* f) {
  ServerOptions& o = f->server;
  const std::string group = "Limits";
  AddPositive(app, "--max_request_bytes", &o.max_request_bytes, "Largest gRPC request accepted")
      ->group(group);
  app->add_option("--max_concurrent_streams", o.max_concurrent_streams,
                  "Most calls one client connection may have open at once; its further calls "
                  "wait in the client")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str()
      ->group(group);
  AddPositive(app, "--grpc_memory_mb", &f->grpc_memory_mb,
              "Memory budget of gRPC's connections and calls together, MiB (a gRPC resource "
              "quota: under pressure gRPC shrinks its buffers and windows)")
      ->group(group);
  AddPositive(app, "--max_document_bytes", &o.limits.max_document_bytes,
              "Largest policy file, and largest document in a request (LintPipeline, "
              "DiffPolicies)")
      ->group(group);
  AddPositive(app, "--max_yaml_nodes", &o.limits.max_yaml_nodes,
              "Most YAML nodes in a policy file, after alias expansion")
      ->group(group);
  app->add_option("--max_depth", o.limits.max_depth, "Deepest nesting of a policy file or request")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str()
      ->group(group);
  AddPositive(app, "--max_string_bytes", &o.limits.max_string_bytes,
              "Longest string field in a policy file or request")
      ->group(group);
  AddPositive(app, "--max_list_items", &o.limits.max_list_items,
              "Most items in a list field of a policy file or request")
      ->group(group);
}

}  // namespace

void AddDaemonFlags(CLI::App* app, DaemonFlags* flags) {
  AddListeningFlags(app, flags);
  AddPolicyFlags(app, flags);
  AddLogFlags(app, flags);
  AddTlsFlags(app, flags);
  AddShutdownFlags(app, flags);
  AddLimitFlags(app, flags);
}

void FinishDaemonFlags(DaemonFlags* flags) {
  ServerOptions& o = flags->server;
  o.cache_max_bytes = flags->cache_max_mb << 20;
  o.grpc_memory_bytes = flags->grpc_memory_mb << 20;
  o.unix_socket_mode = static_cast<unsigned>(std::stoul(flags->unix_socket_mode, nullptr, 8));
}

}  // namespace buildgate
