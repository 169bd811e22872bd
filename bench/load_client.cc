// An async gRPC load client for buildgated and the echo baseline. It sends
// pre-serialized DecideRequests built from the scenario corpus
// (tests/cases), varying the payload request by request, reads every call's
// grpc-status, and reports throughput and latency percentiles as one JSON
// object on stdout.
//
//   load_client --corpus=tests/cases --write_policy_dir=DIR      (policies for buildgated)
//   load_client --target=HOST:PORT --mode=closed --inflight=64 --duration=5s
//   load_client --target=HOST:PORT --mode=open --rate=20000 --duration=5s
//   load_client --target=HOST:PORT --prime_inline=100000        (fill the inline cache)
//   load_client --target=HOST:PORT --inline_sets=1000 --duration=5s
//                                      (timed, cycling through 1000 of those inline sets)
//   load_client ... --view=basic --batch=100                     (BASIC view; DecideBatch)
//
// Open-loop latency is measured from each request's scheduled send time, so
// a stalled server is not hidden (no coordinated omission).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "buildgate/v1/service.pb.h"
#include "engine/compiled_policy.h"
#include "engine/decide.h"
#include "input/proto_text.h"
#include "tests/testing/corpus_files.h"

ABSL_FLAG(std::string, target, "", "Server address");
ABSL_FLAG(std::string, corpus, "tests/cases", "Scenario corpus directory");
ABSL_FLAG(std::string, write_policy_dir, "", "Write one policy file per scenario here and exit");
ABSL_FLAG(std::string, mode, "closed", "closed (fixed in-flight) or open (fixed offered rate)");
ABSL_FLAG(int, inflight, 1, "Closed loop: calls in flight; open loop: the most in flight");
ABSL_FLAG(double, rate, 1000, "Open loop: requests per second");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "Measured duration");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Unmeasured warm-up before it");
ABSL_FLAG(int, channels, 2, "Connections to spread calls over");
ABSL_FLAG(int, prime_inline, 0, "Send this many distinct inline policies, then exit");
ABSL_FLAG(int, inline_sets, 0,
          "Run the timed loop over this many distinct inline policies (the same ones "
          "--prime_inline sends, so a primed server answers from its cache)");
ABSL_FLAG(std::string, label, "", "Copied into the JSON output");
ABSL_FLAG(std::string, write_frame, "",
          "Write one scenario's request as a gRPC frame (for h2load) and print its response size");
ABSL_FLAG(std::string, frame_scenario, "", "Corpus file name of the scenario for --write_frame");
ABSL_FLAG(std::string, view, "full", "Response view asked for: full or basic");
ABSL_FLAG(int, batch, 0,
          "0: one Decide per call; N: one DecideBatch of N steps per call (each call one "
          "scenario's policy, its step N times with distinct step ids)");

namespace buildgate {
namespace {

using Clock = std::chrono::steady_clock;

struct Call {
  grpc::ClientContext ctx;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  Clock::time_point start;
};

grpc::ByteBuffer ToBuffer(const google::protobuf::Message& m) {
  const std::string bytes = m.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

v1::DecisionView ViewFlag() {
  return absl::GetFlag(FLAGS_view) == "basic" ? v1::DECISION_VIEW_BASIC : v1::DECISION_VIEW_FULL;
}

// Scenario requests: every corpus case that expects a decision, naming its
// policy as stored set "scenario-N", in the --view asked for.
std::vector<v1::DecideRequest> ScenarioRequests(std::vector<v1::PolicySet>* policies) {
  std::vector<v1::DecideRequest> out;
  int n = 0;
  for (const auto& c : testing::LoadCorpusFiles(absl::GetFlag(FLAGS_corpus))) {
    if (!c.data.expect_error().empty()) continue;
    const std::string org = absl::StrCat("scenario-", n++);
    v1::PolicySet set = c.data.policy_set();
    set.set_org_id(org);
    if (policies) policies->push_back(set);
    v1::DecideRequest r;
    r.mutable_policy()->set_org_id(org);
    *r.mutable_step() = c.data.step();
    r.mutable_step()->clear_org_id();
    r.set_view(ViewFlag());
    out.push_back(std::move(r));
  }
  return out;
}

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i] / 1000.0;
}

int Run() {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("buildgate.load_client.channel", i);  // Distinct args: distinct connections.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // Every address the target names (ipv4:A,B,C; dns:/// of a headless
    // Service) gets calls, as buildgate's own client does.
    args.SetLoadBalancingPolicyName("round_robin");
    channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target),
                                                 grpc::InsecureChannelCredentials(), args));
    stubs.push_back(std::make_unique<grpc::GenericStub>(channels.back()));
  }
  for (auto& ch : channels) {
    if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      std::fprintf(stderr, "load_client: cannot connect to %s\n", absl::GetFlag(FLAGS_target).c_str());
      return 3;
    }
  }
  std::vector<grpc::ByteBuffer> requests;
  const int prime = absl::GetFlag(FLAGS_prime_inline);
  const int batch = absl::GetFlag(FLAGS_batch);
  const char* method = batch > 0 ? "/buildgate.v1.BuildGateService/DecideBatch"
                                 : "/buildgate.v1.BuildGateService/Decide";
  const int inline_sets = absl::GetFlag(FLAGS_inline_sets);
  if (prime > 0 || inline_sets > 0) {
    std::vector<v1::PolicySet> policies;
    auto scenario = ScenarioRequests(&policies);
    for (int i = 0; i < std::max(prime, inline_sets); ++i) {
      v1::DecideRequest r = scenario[i % scenario.size()];
      v1::PolicySet set = policies[i % policies.size()];
      set.set_org_id(absl::StrCat("primed-", i));
      *r.mutable_policy()->mutable_inline_policy() = set;
      requests.push_back(ToBuffer(r));
    }
  } else if (batch > 0) {
    for (const auto& r : ScenarioRequests(nullptr)) {
      v1::DecideBatchRequest b;
      *b.mutable_policy() = r.policy();
      b.set_view(r.view());
      for (int i = 0; i < batch; ++i) {
        v1::BuildStep* step = b.add_steps();
        *step = r.step();
        step->set_step_id(absl::StrCat("build_and_push_service_image_number_", i));
      }
      requests.push_back(ToBuffer(b));
    }
  } else {
    for (const auto& r : ScenarioRequests(nullptr)) requests.push_back(ToBuffer(r));
  }
  if (requests.empty()) return 2;

  const bool open = absl::GetFlag(FLAGS_mode) == "open";
  const int max_inflight = std::max(1, absl::GetFlag(FLAGS_inflight));
  const auto warmup = absl::ToChronoNanoseconds(prime > 0 ? absl::ZeroDuration() : absl::GetFlag(FLAGS_warmup));
  const auto measured = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  const auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / std::max(1.0, absl::GetFlag(FLAGS_rate))));
  grpc::CompletionQueue cq;
  const auto t0 = Clock::now();
  const auto measure_from = t0 + warmup;
  const auto end = measure_from + measured;
  std::size_t next_request = 0;
  int inflight = 0;
  int64_t sent = 0;
  auto next_send = t0;
  std::vector<int64_t> latencies;
  latencies.reserve(1 << 20);
  std::map<std::string, int64_t> errors;
  int64_t completed_measured = 0, dropped = 0;

  auto send = [&](Clock::time_point scheduled) {
    auto* call = new Call();
    call->start = scheduled;
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto& stub = *stubs[sent % stubs.size()];
    call->reader = stub.PrepareUnaryCall(&call->ctx, method, requests[next_request], &cq);
    next_request = (next_request + 1) % requests.size();
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
    ++inflight;
    ++sent;
  };

  if (prime > 0) {
    // Send every request once, max_inflight at a time.
    std::size_t issued = 0, done = 0;
    while (issued < requests.size() && inflight < max_inflight) {
      next_request = issued++;
      send(Clock::now());
    }
    void* tag;
    bool ok;
    while (done < requests.size() && cq.Next(&tag, &ok)) {
      auto* call = static_cast<Call*>(tag);
      --inflight;
      ++done;
      if (!call->status.ok()) ++errors[absl::StatusCodeToString(static_cast<absl::StatusCode>(call->status.error_code()))];
      delete call;
      if (issued < requests.size()) {
        next_request = issued++;
        send(Clock::now());
      }
    }
    std::printf("{\"primed\":%d,\"non_ok\":%lld}\n", prime,
                static_cast<long long>(std::accumulate(errors.begin(), errors.end(), int64_t{0},
                                                       [](int64_t a, const auto& kv) { return a + kv.second; })));
    return 0;
  }

  if (!open) {
    for (int i = 0; i < max_inflight; ++i) send(Clock::now());
  }
  while (true) {
    const auto now = Clock::now();
    if (open && now < end) {
      while (next_send <= now) {
        if (inflight < max_inflight) {
          send(next_send);
        } else if (next_send >= measure_from) {
          ++dropped;  // Over the in-flight cap: counted, not hidden.
        }
        next_send += interval;
      }
    }
    if (now >= end && inflight == 0) break;
    const auto wait_until = open && now < end ? std::min(next_send, end) : now + std::chrono::milliseconds(100);
    void* tag;
    bool ok;
    const auto status = cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + (wait_until - now));
    if (status == grpc::CompletionQueue::SHUTDOWN) break;
    if (status != grpc::CompletionQueue::GOT_EVENT) {
      if (Clock::now() > end + std::chrono::seconds(15)) break;  // Give up on stragglers.
      continue;
    }
    auto* call = static_cast<Call*>(tag);
    const auto done = Clock::now();
    --inflight;
    if (call->start >= measure_from && call->start < end) {
      ++completed_measured;
      latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - call->start).count());
      if (!call->status.ok()) {
        ++errors[absl::StatusCodeToString(static_cast<absl::StatusCode>(call->status.error_code()))];
      }
    }
    delete call;
    if (!open && done < end) send(done);
  }
  int64_t non_ok = 0;
  std::string errors_json = "{";
  for (const auto& [code, n] : errors) {
    non_ok += n;
    absl::StrAppend(&errors_json, errors_json.size() > 1 ? "," : "", "\"", code, "\":", n);
  }
  errors_json += "}";
  const double seconds = std::chrono::duration<double>(measured).count();
  std::vector<int64_t> lat = latencies;
  std::printf(
      "{\"label\":\"%s\",\"target\":\"%s\",\"mode\":\"%s\",\"inflight\":%d,\"offered_rps\":%.1f,"
      "\"completed\":%lld,\"throughput_rps\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
      "\"p999_us\":%.1f,\"max_us\":%.1f,\"non_ok\":%lld,\"dropped\":%lld,\"errors\":%s,\"scenarios\":%zu,"
      "\"view\":\"%s\",\"decisions_per_call\":%d,\"decisions_per_s\":%.1f}\n",
      absl::GetFlag(FLAGS_label).c_str(), absl::GetFlag(FLAGS_target).c_str(), open ? "open" : "closed",
      max_inflight, open ? absl::GetFlag(FLAGS_rate) : 0.0, static_cast<long long>(completed_measured),
      completed_measured / seconds, Percentile(lat, 0.50), Percentile(lat, 0.90), Percentile(lat, 0.99),
      Percentile(lat, 0.999), lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()) / 1000.0,
      static_cast<long long>(non_ok), static_cast<long long>(dropped), errors_json.c_str(), requests.size(),
      absl::GetFlag(FLAGS_view).c_str(), std::max(1, batch),
      completed_measured * std::max(1, batch) / seconds);
  return 0;
}

// One scenario's request as a length-prefixed gRPC frame, and the size of
// buildgate's response to it (the echo server answers with that size).
int WriteFrame(const std::string& path, const std::string& scenario) {
  int n = 0;
  for (const auto& c : testing::LoadCorpusFiles(absl::GetFlag(FLAGS_corpus))) {
    if (!c.data.expect_error().empty()) continue;
    const std::string org = absl::StrCat("scenario-", n++);
    if (c.name != scenario) continue;
    v1::DecideRequest r;
    r.mutable_policy()->set_org_id(org);
    *r.mutable_step() = c.data.step();
    r.mutable_step()->clear_org_id();
    r.set_view(ViewFlag());
    const std::string body = r.SerializeAsString();
    std::string frame(5, '\0');
    frame[1] = static_cast<char>((body.size() >> 24) & 0xff);
    frame[2] = static_cast<char>((body.size() >> 16) & 0xff);
    frame[3] = static_cast<char>((body.size() >> 8) & 0xff);
    frame[4] = static_cast<char>(body.size() & 0xff);
    std::ofstream(path, std::ios::binary) << frame << body;
    v1::PolicySet set = c.data.policy_set();
    set.set_org_id(org);
    auto compiled = CompiledPolicySet::Compile(set);
    if (!compiled.ok()) return 2;
    v1::DecideResponse response;
    response.set_decision_id("0123456789ab-00000001");
    if (!Decide(**compiled, r.step(), response.mutable_decision(), r.view()).ok()) return 2;
    std::printf("{\"scenario\":\"%s\",\"request_bytes\":%zu,\"response_bytes\":%zu}\n", scenario.c_str(),
                body.size(), response.ByteSizeLong());
    return 0;
  }
  std::fprintf(stderr, "load_client: no scenario %s\n", scenario.c_str());
  return 2;
}

int WritePolicyDir(const std::string& dir) {
  std::vector<v1::PolicySet> policies;
  ScenarioRequests(&policies);
  std::filesystem::create_directories(dir);
  for (const auto& set : policies) {
    std::ofstream(std::filesystem::path(dir) / (set.org_id() + ".yaml")) << MessageToYaml(set);
  }
  std::printf("{\"policy_files\":%zu}\n", policies.size());
  return 0;
}

}  // namespace
}  // namespace buildgate

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_write_frame).empty()) {
    return buildgate::WriteFrame(absl::GetFlag(FLAGS_write_frame), absl::GetFlag(FLAGS_frame_scenario));
  }
  if (!absl::GetFlag(FLAGS_write_policy_dir).empty()) {
    return buildgate::WritePolicyDir(absl::GetFlag(FLAGS_write_policy_dir));
  }
  return buildgate::Run();
}
