#include "service/server.h"

#include <malloc.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/file.h"
#include "common/status.h"
#include "common/tls_library.h"
#include "service/logging.h"
#include "service/tls_files.h"
#include "spdlog/spdlog.h"

namespace buildgate {

namespace {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& o) {
  if (o.tls_cert.empty() && o.tls_key.empty() && o.tls_client_ca.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (o.tls_cert.empty() || o.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  InitOpenSslWithoutExitHandler();
  BG_ASSIGN_OR_RETURN(ServerTlsFiles files,
                      ReadServerTlsFiles(o.tls_cert, o.tls_key, o.tls_client_ca));
  if (const std::string problem = CertificateValidityProblem(files, o.clock()); !problem.empty()) {
    // Served anyway: clients that check dates refuse it, and say so; the
    // operator learns it here first.
    LogEvent(spdlog::level::warn, "TLS: the server certificate is not valid now",
             {{"file", o.tls_cert}, {"problem", problem}});
  }
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({std::move(files.private_key), std::move(files.cert_chain)});
  if (!o.tls_client_ca.empty()) {
    ssl.pem_root_certs = std::move(files.client_ca);
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

// Makes room for our unix socket at `path`: a stale socket (nothing accepts
// on it, e.g. left by a crash) is removed; anything else there, a file or a
// socket another process serves, is an error and stays untouched.
// Why gRPC could not bind `address` (HOST:PORT), for the error: binds a
// socket the same way once more to learn the errno ("address already in
// use"), or "" when that bind works (then gRPC's own reason is unknown).
std::string WhyNotListening(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "";
  std::string host = address.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port)) return "";
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.empty() || host == "0.0.0.0" ? nullptr : host.c_str(),
                    std::to_string(port).c_str(), &hints, &found) != 0 || found == nullptr) {
    return ": cannot resolve the host";
  }
  std::string why;
  const int fd = ::socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd >= 0) {
    if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) why = absl::StrCat(": ", std::strerror(errno));
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return why;
}

int DurationToIntMs(absl::Duration d) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
}

absl::Status ClearStaleSocket(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return absl::OkStatus();  // Nothing there.
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--unix_socket=", path, ": exists and is not a socket; not replacing it"));
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("--unix_socket=", path, ": path too long"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool in_use = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (fd >= 0) ::close(fd);
  if (in_use) {
    return absl::FailedPreconditionError(
        absl::StrCat("--unix_socket=", path, ": another process is serving on it"));
  }
  ::unlink(path.c_str());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BuildGateServer>> BuildGateServer::Start(const ServerOptions& options) {
  std::unique_ptr<BuildGateServer> s(new BuildGateServer());
  s->options_ = options;
  if (options.listen.empty() && options.unix_socket.empty()) {
    return absl::InvalidArgumentError("nothing to listen on: set --listen and/or --unix_socket");
  }
  BG_ASSIGN_OR_RETURN(const std::shared_ptr<grpc::ServerCredentials> creds, Credentials(options));
  BG_ASSIGN_OR_RETURN(s->log_, DecisionLog::Open(options.decision_log, options.decision_log_options));
  if (s->log_->torn_bytes_repaired() > 0) {
    LogEvent(spdlog::level::warn, "decision log: its last line was torn (a crash?) and was moved aside",
             {{"file", options.decision_log},
              {"torn_bytes", absl::StrCat(s->log_->torn_bytes_repaired())},
              {"moved_to", options.decision_log + ".torn"}});
  }
  PolicyStoreOptions store_options = options.store;
  store_options.limits = options.limits;
  s->store_ = std::make_unique<PolicyStore>(options.policy_dir, options.clock, store_options);
  s->cache_ = std::make_unique<CompiledPolicyCache>(
      CompiledPolicyCache::Options{options.cache_max_entries, options.cache_max_bytes});
  PolicyStore* store = s->store_.get();
  CompiledPolicyCache* cache = s->cache_.get();
  DecisionLog* log_ptr = s->log_.get();
  s->metrics_ = std::make_unique<ServiceMetrics>([store, cache, log_ptr] {
    PulledFigures f;
    const auto c = cache->stats();
    f.cache_hits = c.hits;
    f.cache_misses = c.misses;
    f.cache_evictions = c.evictions;
    f.cache_entries = c.entries;
    f.cache_bytes = c.bytes;
    f.decision_log_dropped = log_ptr->dropped_lines();
    if (auto snap = store->Snapshot()) {
      f.sets_loaded = snap->sets.size();
      f.file_errors = snap->file_errors.size();
      f.files_pending = snap->pending_files.size();
    }
    return f;
  });
  BG_RETURN_IF_ERROR(s->metrics_->Serve(options.metrics_address));
  s->service_ = std::make_unique<BuildGateService>(
      BuildGateService::Options{options.allow_inline_policies, options.clock, options.limits}, s->store_.get(),
      s->cache_.get(), s->log_.get(), s->metrics_.get());

  // Abseil's mutex deadlock detection (on in Debian's build) costs every
  // lock taken by gRPC and by us; it is a debugging aid, not for serving.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC turns SO_REUSEPORT on by default: a second buildgated on a taken
  // port would start and silently take a share of the traffic. Off, it fails.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, DurationToIntMs(options.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               DurationToIntMs(options.max_connection_age_grace));
  }
  if (!options.listen.empty()) builder.AddListeningPort(options.listen, creds, &s->tcp_port_);
  if (!options.unix_socket.empty()) {
    if (absl::Status s = ClearStaleSocket(options.unix_socket); !s.ok()) return s;
    builder.AddListeningPort(absl::StrCat("unix:", options.unix_socket), creds);
  }
  // Per-client bounds: calls per connection, and memory and threads for
  // all of gRPC (see ServerOptions).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  grpc::ResourceQuota quota("buildgated");
  quota.Resize(options.grpc_memory_bytes);
  quota.SetMaxThreads(kGrpcMaxThreads);
  builder.SetResourceQuota(quota);
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<std::size_t>(options.max_request_bytes, INT32_MAX)));
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || (!options.listen.empty() && s->tcp_port_ == 0)) {
    std::vector<std::string> addresses;
    if (!options.listen.empty()) addresses.push_back(absl::StrCat("--listen=", options.listen, WhyNotListening(options.listen)));
    if (!options.unix_socket.empty()) addresses.push_back(absl::StrCat("--unix_socket=", options.unix_socket));
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", absl::StrJoin(addresses, " / ")));
  }
  if (!options.unix_socket.empty() && ::chmod(options.unix_socket.c_str(), options.unix_socket_mode) != 0) {
    return absl::InternalError(
        absl::StrCat("--unix_socket=", options.unix_socket, ": cannot set its mode: ", std::strerror(errno)));
  }
  auto* health = s->server_->GetHealthCheckService();
  health->SetServingStatus(false);
  health->SetServingStatus("buildgate.v1.BuildGateService", false);

  // Listening; now load the policies, then serve.
  if (options.before_policy_load) options.before_policy_load();
  const ReloadReport report = s->store_->Reload();
  for (const auto& e : report.new_errors) {
    LogEvent(spdlog::level::err, "policy file refused", {{"file", e.file()}, {"error", e.error()}});
  }
  LogEvent(spdlog::level::info, "policy sets loaded",
           {{"sets", absl::StrCat(s->store_->Snapshot()->sets.size())},
            {"from", options.policy_dir.empty() ? "embedded examples" : options.policy_dir},
            {"file_errors", absl::StrCat(s->store_->Snapshot()->file_errors.size())}});
  // Loading parsed every file; give the garbage back before serving.
  ::malloc_trim(0);
  s->service_->SetServing(true);
  health->SetServingStatus(true);
  health->SetServingStatus("buildgate.v1.BuildGateService", true);
  s->ReportStoreHealth();
  BuildGateServer* raw = s.get();
  s->store_->StartWatching(options.reload_interval,
                           [raw](const ReloadReport& r) { raw->OnReload(r); });
  return s;
}

void BuildGateServer::ReportStoreHealth() {
  auto snapshot = store_->Snapshot();
  server_->GetHealthCheckService()->SetServingStatus(
      kStoreHealthService, snapshot != nullptr && snapshot->file_errors.empty());
}

void BuildGateServer::OnReload(const ReloadReport& report) {
  ReportStoreHealth();
  // Only files settling, or a fault clearing: nothing was read.
  if (report.files_read == 0 && report.sets_removed == 0 && report.new_errors.empty()) return;
  const bool ok = report.files_failed == 0;
  metrics_->RecordReload(ok);  // GetStatus reads the same counters.
  for (const auto& e : report.new_errors) {
    LogEvent(spdlog::level::err, "policy reload refused a file; the last good sets keep serving",
             {{"file", e.file()}, {"error", e.error()}});
  }
  LogEvent(spdlog::level::info, "policy reload",
           {{"files_read", absl::StrCat(report.files_read)},
            {"failed", absl::StrCat(report.files_failed)},
            {"sets_removed", absl::StrCat(report.sets_removed)},
            {"sets_serving", absl::StrCat(store_->Snapshot()->sets.size())}});
}

void BuildGateServer::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    if (server_) {
      auto* health = server_->GetHealthCheckService();
      health->SetServingStatus(false);
      health->SetServingStatus("buildgate.v1.BuildGateService", false);
    }
    // New calls get UNAVAILABLE (retryable elsewhere) from here on; calls
    // already being handled complete.
    if (service_) service_->SetServing(false);
    if (store_) store_->StopWatching();
    if (server_) server_->GetHealthCheckService()->SetServingStatus(kStoreHealthService, false);
    if (options_.shutdown_delay > absl::ZeroDuration()) absl::SleepFor(options_.shutdown_delay);
    if (server_) {
      // In-flight calls finish; new ones are refused; after the grace
      // period the rest are cancelled.
      server_->Shutdown(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(options_.shutdown_grace));
      server_->Wait();
    }
    if (log_ && !log_->Flush()) {
      LogEvent(spdlog::level::warn, "decision log: its sink did not drain; unwritten lines are lost",
               {{"flush_timeout", absl::FormatDuration(options_.decision_log_options.flush_timeout)}});
    }
  });
}

BuildGateServer::~BuildGateServer() { Shutdown(); }

}  // namespace buildgate
