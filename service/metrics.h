// ServiceMetrics: Prometheus metrics for buildgated, served over HTTP by
// prometheus-cpp's exposer.
//
//   buildgate_decisions_total{verdict,builder}        counter
//   buildgate_decision_latency_seconds                histogram, microsecond buckets
//   buildgate_rpc_errors_total{code}                  counter (refused requests)
//   buildgate_policy_cache_{hits,misses,evictions}_total, _entries, _bytes
//   buildgate_policy_reloads_total{result="ok|failed"}
//   buildgate_policy_sets_loaded, buildgate_policy_file_errors, buildgate_policy_files_pending
//   buildgate_decision_log_dropped_lines_total
//
// Counters on the request path are cached pointers (no label lookups); the
// cache and store figures are read at scrape time through a Collectable.
//
// Thread-safe.
#ifndef BUILDGATE_SERVICE_METRICS_H_
#define BUILDGATE_SERVICE_METRICS_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buildgate/v1/decision.pb.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace buildgate {

// Figures read at scrape time.
struct PulledFigures {
  uint64_t cache_hits = 0, cache_misses = 0, cache_evictions = 0, cache_entries = 0, cache_bytes = 0;
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

  void RecordDecision(v1::Verdict verdict, v1::Builder builder, double seconds);
  void RecordError(absl::StatusCode code);
  void RecordReload(bool ok);

  // Text exposition of everything (for tests and debugging).
  std::string Scrape() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> pulled_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  // Sized from the proto and from absl::StatusCode, so a new value gets its
  // series.
  static constexpr int kStatusCodes = static_cast<int>(absl::StatusCode::kUnauthenticated) + 1;
  std::array<std::array<prometheus::Counter*, v1::Builder_ARRAYSIZE>, v1::Verdict_ARRAYSIZE>
      decisions_{};                                          // [verdict][builder]
  std::array<prometheus::Counter*, kStatusCodes> errors_{};  // [status code]
  prometheus::Counter* reloads_ok_ = nullptr;
  prometheus::Counter* reloads_failed_ = nullptr;
  prometheus::Histogram* latency_ = nullptr;
  int port_ = 0;
};

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_METRICS_H_
