// ServiceMetrics: Prometheus metrics for buildgated, served over HTTP by
// prometheus-cpp's exposer. Every metric is listed, with the questions it
// answers, in docs/api.md (a test checks the two agree).
//
//   Per RPC (go-grpc-prometheus names, so existing dashboards work):
//     grpc_server_handled_total{grpc_service,grpc_method,grpc_code}  counter
//     grpc_server_handling_seconds{grpc_service,grpc_method}         histogram
//     buildgate_grpc_requests_in_flight                              gauge
//   Decisions:
//     buildgate_decisions_total{verdict,builder}  counter (deny: builder="none")
//     buildgate_decision_latency_seconds          histogram, from 1 us
//   Policy store and inline-policy cache (read at scrape time):
//     buildgate_policy_reloads_total{result}, buildgate_policy_sets_loaded,
//     buildgate_policy_file_errors, buildgate_policy_files_pending,
//     buildgate_policy_cache_{hits,misses,evictions}_total, _entries, _bytes,
//     buildgate_decision_log_dropped_lines_total
//   Process (Prometheus' standard names, from /proc/self):
//     process_cpu_seconds_total, process_resident_memory_bytes,
//     process_virtual_memory_bytes, process_open_fds, process_max_fds,
//     process_start_time_seconds
//   buildgate_build_info{version,revision,grpc_version,protobuf_version} 1
//
// The HTTP server (civetweb, inside prometheus-cpp's Exposer) answers with
// kHttpThreads threads, and a connection that has not sent its whole
// request within kHttpRequestTimeoutMs (3 s) is closed: idle or slow connections
// (connected, nothing sent) hold a thread for at most that long, so they
// can delay a scrape by a few seconds but never block it.
//
// Only series that can be non-zero exist: per-code RPC counters appear on a
// code's first use, and decisions only for verdict/builder pairs a decision
// can have. Counters on the request path are cached pointers (no label
// lookups after the first use).
//
// Thread-safe.
#ifndef BUILDGATE_SERVICE_METRICS_H_
#define BUILDGATE_SERVICE_METRICS_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "buildgate/v1/decision.pb.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace buildgate {

// Figures read at scrape time.
struct PulledFigures {
  uint64_t cache_hits = 0, cache_misses = 0, cache_evictions = 0, cache_entries = 0,
           cache_bytes = 0;
  uint64_t sets_loaded = 0, file_errors = 0, files_pending = 0;
  uint64_t decision_log_dropped = 0;
};

class ServiceMetrics {
 public:
  // `pull` is called on each scrape.
  explicit ServiceMetrics(std::function<PulledFigures()> pull);
  ~ServiceMetrics();

  // Serves /metrics on `address` ("127.0.0.1:0" picks a port; "" = no HTTP).
  absl::Status Serve(const std::string& address);
  int port() const { return port_; }

  // The index of `method` of buildgate.v1.BuildGateService (e.g. "Decide"), for
  // the RPC metrics; -1 if the service has no such method.
  static int MethodIndex(const std::string& method);

  // An RPC started / finished with `code` (a grpc::StatusCode number).
  void RpcStarted();
  void RpcFinished(int method, int code, double seconds);
  void RecordDecision(v1::Verdict verdict, v1::Builder builder, double seconds);
  void RecordReload(bool ok);
  // The reloads recorded so far: the one count /metrics and GetStatus show.
  struct ReloadCounts {
    uint64_t ok = 0;
    uint64_t failed = 0;
  };
  ReloadCounts reloads() const;

  // Text exposition of everything (for tests and debugging).
  std::string Scrape() const;

 private:
  static constexpr int kHttpThreads = 16;
  static constexpr int kHttpRequestTimeoutMs = 3000;
  static constexpr int kGrpcCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED.
  static constexpr int kMaxMethods = 16;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> pulled_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<std::string> methods_;  // Of buildgate.v1.BuildGateService, by index.
  prometheus::Family<prometheus::Counter>* handled_ = nullptr;
  // [method][code], created on first use.
  std::array<std::array<std::atomic<prometheus::Counter*>, kGrpcCodes>, kMaxMethods> handled_by_{};
  std::array<prometheus::Histogram*, kMaxMethods> handling_seconds_{};
  prometheus::Gauge* in_flight_ = nullptr;
  std::array<std::array<prometheus::Counter*, v1::Builder_ARRAYSIZE>, v1::Verdict_ARRAYSIZE>
      decisions_{};  // [verdict][builder]; null for pairs no decision has.
  prometheus::Counter* reloads_ok_ = nullptr;
  prometheus::Counter* reloads_failed_ = nullptr;
  prometheus::Histogram* latency_ = nullptr;
  int port_ = 0;
};

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_METRICS_H_
