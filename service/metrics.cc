#include "service/metrics.h"

#include <dirent.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/common.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "buildgate/v1/service.pb.h"
#include "common/version_info.h"
#include "engine/enum_names.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace buildgate {
namespace {

struct ProcessFigures {
  bool ok = false;
  double cpu_seconds = 0, resident_bytes = 0, virtual_bytes = 0, start_time_seconds = 0;
};

// From /proc/self/stat (fields 14-15 utime/stime and 22 starttime in clock
// ticks, 23 vsize in bytes, 24 rss in pages) and /proc/stat's btime.
ProcessFigures ReadProcessFigures() {
  ProcessFigures f;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const std::size_t paren = stat.rfind(')');  // The command name may hold spaces.
  if (paren == std::string::npos) return f;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
  // fields[0] is field 3 (state).
  if (fields.size() < 22) return f;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  auto field = [&](int n) { return std::strtod(fields[n - 3].c_str(), nullptr); };
  f.cpu_seconds = (field(14) + field(15)) / ticks;
  f.virtual_bytes = field(23);
  f.resident_bytes = field(24) * page;
  std::ifstream proc_stat("/proc/stat");
  std::string line;
  double boot_time = 0;
  while (std::getline(proc_stat, line)) {
    if (line.rfind("btime ", 0) == 0) boot_time = std::strtod(line.c_str() + 6, nullptr);
  }
  f.start_time_seconds = boot_time + field(22) / ticks;
  f.ok = true;
  return f;
}

double OpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double n = 0;
  while (const dirent* e = ::readdir(dir)) n += e->d_name[0] == '.' ? 0 : 1;
  ::closedir(dir);
  return n - 1;  // Not the descriptor reading the directory.
}

const google::protobuf::ServiceDescriptor& BuildGateServiceDescriptor() {
  return *v1::DecideRequest::descriptor()->file()->FindServiceByName("BuildGateService");
}

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
    add("buildgate_policy_cache_hits_total", "Inline policy cache hits.", MetricType::Counter,
        f.cache_hits);
    add("buildgate_policy_cache_misses_total", "Inline policy cache misses.", MetricType::Counter,
        f.cache_misses);
    add("buildgate_policy_cache_evictions_total", "Inline policy cache evictions.",
        MetricType::Counter, f.cache_evictions);
    add("buildgate_policy_cache_entries", "Compiled inline policy sets cached.", MetricType::Gauge,
        f.cache_entries);
    add("buildgate_policy_cache_bytes", "Approximate bytes held by the cache.", MetricType::Gauge,
        f.cache_bytes);
    add("buildgate_policy_sets_loaded", "Stored policy sets being served.", MetricType::Gauge,
        f.sets_loaded);
    add("buildgate_policy_file_errors",
        "Policy store faults now: the directory and each file that fails (the last good sets "
        "serve).",
        MetricType::Gauge, f.file_errors);
    add("buildgate_policy_files_pending",
        "Changed policy files waiting to settle before they load.", MetricType::Gauge,
        f.files_pending);
    add("buildgate_decision_log_dropped_lines_total",
        "Decision-log lines dropped because the log's sink could not keep up.", MetricType::Counter,
        f.decision_log_dropped);
    const ProcessFigures p = ReadProcessFigures();
    if (p.ok) {
      add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
          MetricType::Counter, p.cpu_seconds);
      add("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
          p.resident_bytes);
      add("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
          p.virtual_bytes);
      add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          MetricType::Gauge, p.start_time_seconds);
    }
    add("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, OpenFds());
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      add("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
          static_cast<double>(limit.rlim_cur));
    }
    return out;
  }

 private:
  std::function<PulledFigures()> pull_;
};

}  // namespace

ServiceMetrics::ServiceMetrics(std::function<PulledFigures()> pull)
    : registry_(std::make_shared<prometheus::Registry>()),
      pulled_(std::make_shared<PulledCollectable>(std::move(pull))) {
  const google::protobuf::ServiceDescriptor& service = BuildGateServiceDescriptor();
  for (int i = 0; i < service.method_count() && i < kMaxMethods; ++i) {
    methods_.push_back(service.method(i)->name());
  }
  handled_ = &prometheus::BuildCounter()
                  .Name("grpc_server_handled_total")
                  .Help("RPCs completed on the server, by method and gRPC status code.")
                  .Register(*registry_);
  auto& handling =
      prometheus::BuildHistogram()
          .Name("grpc_server_handling_seconds")
          .Help("Time from receiving a request to sending its status, by method, in seconds.")
          .Register(*registry_);
  for (std::size_t m = 0; m < methods_.size(); ++m) {
    handling_seconds_[m] = &handling.Add(
        {{"grpc_service", service.full_name()}, {"grpc_method", methods_[m]}},
        prometheus::Histogram::BucketBoundaries{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3,
                                                2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3, 1.0});
  }
  in_flight_ = &prometheus::BuildGauge()
                    .Name("buildgate_grpc_requests_in_flight")
                    .Help("RPCs being handled now.")
                    .Register(*registry_)
                    .Add({});
  auto& decisions = prometheus::BuildCounter()
                        .Name("buildgate_decisions_total")
                        .Help("Decisions by verdict and builder (a deny has builder \"none\").")
                        .Register(*registry_);
  static_assert(v1::Verdict_MIN == 0 && v1::Builder_MIN == 0, "counters index by enum value");
  // Only the pairs a decision can have: an allow names a builder, a deny none.
  for (int b = 0; b < v1::Builder_ARRAYSIZE; ++b) {
    if (b == v1::BUILDER_UNSPECIFIED || !v1::Builder_IsValid(b)) continue;
    for (v1::Verdict v : {v1::VERDICT_ALLOW, v1::VERDICT_ALLOW_WITH_CHANGES}) {
      decisions_[v][b] =
          &decisions.Add({{"verdict", std::string(EnumName(v))},
                          {"builder", std::string(EnumName(static_cast<v1::Builder>(b)))}});
    }
  }
  decisions_[v1::VERDICT_DENY][v1::BUILDER_UNSPECIFIED] =
      &decisions.Add({{"verdict", std::string(EnumName(v1::VERDICT_DENY))}, {"builder", "none"}});
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
  latency_ = &latency.Add(
      {}, prometheus::Histogram::BucketBoundaries{1e-6, 2e-6, 5e-6, 10e-6, 20e-6, 50e-6, 100e-6,
                                                  200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 50e-3});
  prometheus::BuildGauge()
      .Name("buildgate_build_info")
      .Help("Always 1; the labels say which build is running.")
      .Register(*registry_)
      .Add({{"version", kBuildgateVersion},
            {"revision", kBuildgateGitRevision},
            {"grpc_version", grpc::Version()},
            {"protobuf_version",
             google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION)}})
      .Set(1);
}

int ServiceMetrics::MethodIndex(const std::string& method) {
  const google::protobuf::MethodDescriptor* m =
      BuildGateServiceDescriptor().FindMethodByName(method);
  return m == nullptr || m->index() >= kMaxMethods ? -1 : m->index();
}

ServiceMetrics::~ServiceMetrics() = default;

absl::Status ServiceMetrics::Serve(const std::string& address) {
  if (address.empty()) return absl::OkStatus();
  try {
    // civetweb options (see the header): the default is 2 threads and a
    // 30 s request timeout, so two idle connections blocked every scrape.
    exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", address, "num_threads", std::to_string(kHttpThreads),
        "request_timeout_ms", std::to_string(kHttpRequestTimeoutMs)});
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics_address ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(pulled_);
  const auto ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports.front();
  return absl::OkStatus();
}

void ServiceMetrics::RpcStarted() { in_flight_->Increment(); }

void ServiceMetrics::RpcFinished(int method, int code, double seconds) {
  in_flight_->Decrement();
  if (method < 0 || method >= static_cast<int>(methods_.size())) return;
  if (code < 0 || code >= kGrpcCodes) code = static_cast<int>(absl::StatusCode::kUnknown);
  std::atomic<prometheus::Counter*>& slot = handled_by_[method][code];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // First use of this code: Family::Add is idempotent and locked, so a
    // race creates one series.
    counter = &handled_->Add(
        {{"grpc_service", BuildGateServiceDescriptor().full_name()},
         {"grpc_method", methods_[method]},
         {"grpc_code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}});
    slot.store(counter, std::memory_order_release);
  }
  counter->Increment();
  handling_seconds_[method]->Observe(seconds);
}

void ServiceMetrics::RecordDecision(v1::Verdict verdict, v1::Builder builder, double seconds) {
  const int v = static_cast<int>(verdict);
  const int b = static_cast<int>(builder);
  if (v >= 0 && v < v1::Verdict_ARRAYSIZE && b >= 0 && b < v1::Builder_ARRAYSIZE &&
      decisions_[v][b] != nullptr) {
    decisions_[v][b]->Increment();
  }
  latency_->Observe(seconds);
}

void ServiceMetrics::RecordReload(bool ok) { (ok ? reloads_ok_ : reloads_failed_)->Increment(); }

ServiceMetrics::ReloadCounts ServiceMetrics::reloads() const {
  return {static_cast<uint64_t>(reloads_ok_->Value()), static_cast<uint64_t>(reloads_failed_->Value())};
}

std::string ServiceMetrics::Scrape() const {
  auto families = registry_->Collect();
  auto pulled = pulled_->Collect();
  families.insert(families.end(), pulled.begin(), pulled.end());
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace buildgate
