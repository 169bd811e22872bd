#include "service/metrics.h"

#include "absl/strings/str_cat.h"
#include "engine/enum_names.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace buildgate {
namespace {

class PulledCollectable : public prometheus::Collectable {
 public:
  explicit PulledCollectable(std::function<PulledFigures()> pull) : pull_(std::move(pull)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const PulledFigures f = pull_();
    std::vector<prometheus::MetricFamily> out;
    auto add = [&](const char* name, const char* help, prometheus::MetricType type, double value) {
      prometheus::MetricFamily family;
      family.name = name;
      family.help = help;
      family.type = type;
      prometheus::ClientMetric metric;
      if (type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
      } else {
        metric.gauge.value = value;
      }
      family.metric.push_back(std::move(metric));
      out.push_back(std::move(family));
    };
    using prometheus::MetricType;
    add("buildgate_policy_cache_hits_total", "Inline policy cache hits.", MetricType::Counter, f.cache_hits);
    add("buildgate_policy_cache_misses_total", "Inline policy cache misses.", MetricType::Counter, f.cache_misses);
    add("buildgate_policy_cache_evictions_total", "Inline policy cache evictions.", MetricType::Counter,
        f.cache_evictions);
    add("buildgate_policy_cache_entries", "Compiled inline policy sets cached.", MetricType::Gauge, f.cache_entries);
    add("buildgate_policy_cache_bytes", "Approximate bytes held by the cache.", MetricType::Gauge, f.cache_bytes);
    add("buildgate_policy_sets_loaded", "Stored policy sets being served.", MetricType::Gauge, f.sets_loaded);
    add("buildgate_policy_file_errors",
        "Policy store faults now: the directory and each file that fails (the last good sets serve).",
        MetricType::Gauge, f.file_errors);
    add("buildgate_policy_files_pending", "Changed policy files waiting to settle before they load.",
        MetricType::Gauge, f.files_pending);
    add("buildgate_decision_log_dropped_lines_total",
        "Decision-log lines dropped because the log's sink could not keep up.", MetricType::Counter,
        f.decision_log_dropped);
    return out;
  }

 private:
  std::function<PulledFigures()> pull_;
};

}  // namespace

ServiceMetrics::ServiceMetrics(std::function<PulledFigures()> pull)
    : registry_(std::make_shared<prometheus::Registry>()),
      pulled_(std::make_shared<PulledCollectable>(std::move(pull))) {
  auto& decisions = prometheus::BuildCounter()
                        .Name("buildgate_decisions_total")
                        .Help("Decisions by verdict and builder.")
                        .Register(*registry_);
  static_assert(v1::Verdict_MIN == 0 && v1::Builder_MIN == 0, "counters index by enum value");
  for (int v = 0; v < v1::Verdict_ARRAYSIZE; ++v) {
    for (int b = 0; b < v1::Builder_ARRAYSIZE; ++b) {
      decisions_[v][b] = &decisions.Add(
          {{"verdict", std::string(EnumName(static_cast<v1::Verdict>(v)))},
           {"builder", std::string(EnumName(static_cast<v1::Builder>(b)))}});
    }
  }
  auto& errors = prometheus::BuildCounter()
                     .Name("buildgate_rpc_errors_total")
                     .Help("Requests refused without a decision, by gRPC status code.")
                     .Register(*registry_);
  for (int c = 0; c < kStatusCodes; ++c) {
    errors_[c] = &errors.Add({{"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(c))}});
  }
  auto& reloads = prometheus::BuildCounter()
                      .Name("buildgate_policy_reloads_total")
                      .Help("Policy store reloads that read changed files, by result.")
                      .Register(*registry_);
  reloads_ok_ = &reloads.Add({{"result", "ok"}});
  reloads_failed_ = &reloads.Add({{"result", "failed"}});
  auto& latency = prometheus::BuildHistogram()
                      .Name("buildgate_decision_latency_seconds")
                      .Help("Time to decide one step inside the server, in seconds.")
                      .Register(*registry_);
  latency_ = &latency.Add({}, prometheus::Histogram::BucketBoundaries{
                                  1e-6, 2e-6, 5e-6, 10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6,
                                  1e-3, 2e-3, 5e-3, 10e-3, 50e-3});
}

ServiceMetrics::~ServiceMetrics() = default;

absl::Status ServiceMetrics::Serve(const std::string& address) {
  if (address.empty()) return absl::OkStatus();
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics_address ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(pulled_);
  const auto ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports.front();
  return absl::OkStatus();
}

void ServiceMetrics::RecordDecision(v1::Verdict verdict, v1::Builder builder, double seconds) {
  const int v = static_cast<int>(verdict);
  const int b = static_cast<int>(builder);
  if (v >= 0 && v < v1::Verdict_ARRAYSIZE && b >= 0 && b < v1::Builder_ARRAYSIZE) {
    decisions_[v][b]->Increment();
  }
  latency_->Observe(seconds);
}

void ServiceMetrics::RecordError(absl::StatusCode code) {
  const int c = static_cast<int>(code);
  errors_[c >= 0 && c < kStatusCodes ? c : static_cast<int>(absl::StatusCode::kUnknown)]->Increment();
}

void ServiceMetrics::RecordReload(bool ok) { (ok ? reloads_ok_ : reloads_failed_)->Increment(); }

std::string ServiceMetrics::Scrape() const {
  auto families = registry_->Collect();
  auto pulled = pulled_->Collect();
  families.insert(families.end(), pulled.begin(), pulled.end());
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace buildgate
