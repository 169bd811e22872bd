// BuildGateServer: assembles buildgated — policy store, inline-policy cache,
// decision log, metrics, the gRPC service with health and reflection — and
// owns its lifecycle. main.cc only turns flags into ServerOptions; tests
// start the same server in-process on port 0.
//
// Lifecycle: Start() listens first with health NOT_SERVING, loads the policy
// store, then reports SERVING and starts watching the policy directory.
// Shutdown() reports NOT_SERVING and answers new calls UNAVAILABLE, waits
// shutdown_delay, then stops listening: calls being handled complete (up to
// shutdown_grace), calls gRPC had not yet started are CANCELLED; last it
// flushes the decision log.
//
// Thread-safe: Shutdown() may be called from any thread, once.
#ifndef BUILDGATE_SERVICE_SERVER_H_
#define BUILDGATE_SERVICE_SERVER_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/buildgate_service.h"
#include "service/decision_log.h"
#include "service/metrics.h"
#include "store/policy_cache.h"
#include "store/policy_store.h"

namespace buildgate {

// Health service name that is SERVING while the policy store has no fault
// and NOT_SERVING while it has one (the last good sets still serve; the
// overall health "" stays SERVING). GetServerStatus says which fault.
inline constexpr char kStoreHealthService[] = "buildgate.v1.PolicyStore";

// Most threads gRPC may start for the server's synchronous methods (server
// reflection; the buildgate and health services use callbacks), from the
// resource quota.
inline constexpr int kGrpcMaxThreads = 16;

struct ServerOptions {
  // TCP address; port 0 picks a free port (read it back with tcp_port()).
  // Empty: no TCP listener.
  std::string listen = "127.0.0.1:50051";
  // Unix domain socket path (sidecar use); empty: none.
  std::string unix_socket;
  // Permission bits of the socket (connecting needs write permission):
  // 0660 lets a container of another UID in the socket's group (a pod's
  // fsGroup) connect.
  unsigned unix_socket_mode = 0660;
  // Connections older than this are closed gracefully (GOAWAY; calls in
  // flight get max_connection_age_grace), so clients re-resolve and spread
  // over new replicas. Zero: never.
  absl::Duration max_connection_age = absl::ZeroDuration();
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // Directory of policy-set files; empty: the embedded example policies.
  std::string policy_dir;
  absl::Duration reload_interval = absl::Seconds(2);
  // Settle time, file count and byte caps of the policy directory. Its
  // `limits` are taken from `limits` below (one set of limits for files and
  // requests), whatever is set here.
  PolicyStoreOptions store;
  // Limits on every request and policy file (input/limits.h); also the
  // store's per-file limits.
  InputLimits limits;
  // Largest request gRPC accepts (RESOURCE_EXHAUSTED beyond).
  std::size_t max_request_bytes = std::size_t{4} << 20;
  // Most calls one client connection may have open at once (HTTP/2
  // SETTINGS_MAX_CONCURRENT_STREAMS): a client's further calls wait in the
  // client until one finishes, so one connection cannot hold thousands of
  // calls' memory in the server.
  int max_concurrent_streams = 100;
  // Memory gRPC may use for all connections and calls together (a
  // grpc::ResourceQuota): under pressure gRPC shrinks its buffers and
  // flow-control windows. It is soft: gRPC 1.51 does not reclaim calls
  // waiting for their first message (docs/operating.md, "Per-client
  // bounds"). With the inline-policy cache (cache_max_bytes) and the
  // server's own ~30 MB it sizes the process: 64 MiB + 128 MiB of cache
  // fits a 256 MiB pod.
  std::size_t grpc_memory_bytes = std::size_t{64} << 20;
  bool allow_inline_policies = true;
  std::size_t cache_max_entries = 100000;
  std::size_t cache_max_bytes = std::size_t{1} << 30;
  // Prometheus /metrics address; empty: off.
  std::string metrics_address = "127.0.0.1:9464";
  // Decision log: "-" stdout, "" off, else a file.
  std::string decision_log = "-";
  // Queue bound and shutdown flush timeout of the decision log.
  DecisionLogOptions decision_log_options;
  // TLS from PEM files. With tls_client_ca set, clients must present a
  // certificate signed by it (mutual TLS). A file that is not what it should
  // be fails Start naming it (service/tls_files.h); a server certificate
  // that has expired (or is not yet valid, by `clock`) is a warning in the
  // log at start, naming the file and the date.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  absl::Duration shutdown_grace = absl::Seconds(10);
  // On shutdown, how long to keep answering (health NOT_SERVING, calls
  // UNAVAILABLE) before closing listeners, so load balancers move away.
  absl::Duration shutdown_delay = absl::ZeroDuration();
  std::function<absl::Time()> clock = absl::Now;
  // Test hook: runs after the server listens and before the policy store
  // loads (health is NOT_SERVING then).
  std::function<void()> before_policy_load;
};

class BuildGateServer {
 public:
  static absl::StatusOr<std::unique_ptr<BuildGateServer>> Start(const ServerOptions& options);
  ~BuildGateServer();

  int tcp_port() const { return tcp_port_; }
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  PolicyStore& store() { return *store_; }
  CompiledPolicyCache& cache() { return *cache_; }
  ServiceMetrics& metrics() { return *metrics_; }

  // Drains and stops; idempotent.
  void Shutdown();

 private:
  BuildGateServer() = default;
  void OnReload(const ReloadReport& report);
  void ReportStoreHealth();

  ServerOptions options_;
  std::unique_ptr<PolicyStore> store_;
  std::unique_ptr<CompiledPolicyCache> cache_;
  std::unique_ptr<DecisionLog> log_;
  std::unique_ptr<ServiceMetrics> metrics_;
  std::unique_ptr<BuildGateService> service_;
  std::unique_ptr<grpc::Server> server_;
  int tcp_port_ = 0;
  std::once_flag shutdown_once_;
};

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_SERVER_H_
